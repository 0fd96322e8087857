// Package netnstests is a CNI conformance suite: it runs a plugin binary as
// root in throwaway network namespaces and checks what the CNI spec demands
// (specs labelled "generic") and what podnet promises on top (labelled
// "podnet"). Select the plugin with PLUGIN, NETCONF and CNI_PATH; see the
// README.
package netnstests
