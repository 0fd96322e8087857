package results

// Kind names a kind of file: the part of "schema" before "/v".
type Kind string

// The kinds of JSON file cnigate writes.
const (
	// KindMatrix is the e2e connectivity matrix (matrix.json), Matrix.
	KindMatrix Kind = "e2e-matrix"
	// KindBench is a bench run (bench.json), Bench.
	KindBench Kind = "bench"
	// KindClusterBench is a cluster bench run (cluster-bench.json), ClusterBench.
	KindClusterBench Kind = "cluster-bench"
	// KindReport is a rendered report's JSON format (NAME.report.json),
	// written by package report for tools; cnigate does not read it back.
	KindReport Kind = "report"
)

// ReportVersion is the version of KindReport files.
const ReportVersion = 1

// v0Markers are top-level fields that only one kind's files had before
// schema versions: they name the kind of a file without a "schema" field
// when it is read as another kind.
var v0Markers = map[string]Kind{
	"cells":      KindMatrix,
	"contenders": KindBench,
	"cnis":       KindClusterBench,
}
