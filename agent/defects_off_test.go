//go:build !podnet_defects

package agent

const defectsBuild = false
