//go:build podnet_defects

package main

const defectsBuild = true
