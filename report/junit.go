package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/cnigate/cnigate/results"
)

// The JUnit XML schema as CI systems read it (Jenkins, GitLab, GitHub test
// reporters): testsuites > testsuite > testcase with failure or skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Properties *junitProps `xml:"properties,omitempty"`
	Cases      []junitCase `xml:"testcase"`
	SystemOut  string      `xml:"system-out,omitempty"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }

// writeJUnit writes one testsuite per case suite, in order of first
// appearance; facts are the first suite's properties, notes its system-out.
func writeJUnit(b *bytes.Buffer, r *Report) error {
	doc := junitSuites{Name: r.Title}
	index := map[string]int{}
	var total float64
	var suiteSecs []float64
	for _, c := range r.Cases {
		i, ok := index[c.Suite]
		if !ok {
			i = len(doc.Suites)
			index[c.Suite] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: c.Suite})
			suiteSecs = append(suiteSecs, 0)
		}
		s := &doc.Suites[i]
		jc := junitCase{Name: c.Name, Classname: r.Kind + "." + c.Suite, Time: secs(c.Seconds)}
		switch c.Result {
		case results.Fail:
			jc.Failure = &junitFailure{Message: firstLine(c.Detail), Type: "failure", Text: c.Detail}
			s.Failures++
		case results.Skip:
			jc.Skipped = &junitSkipped{Message: c.Detail}
			s.Skipped++
		default:
			jc.SystemOut = c.Detail
		}
		s.Tests++
		total += c.Seconds
		suiteSecs[i] += c.Seconds
		s.Time = secs(suiteSecs[i])
		s.Cases = append(s.Cases, jc)
	}
	if len(doc.Suites) == 0 { // a report without cases is still a valid document
		doc.Suites = append(doc.Suites, junitSuite{Name: r.Kind, Time: secs(0)})
	}
	if len(r.Facts) > 0 {
		p := &junitProps{}
		for _, f := range r.Facts {
			p.Props = append(p.Props, junitProp(f))
		}
		doc.Suites[0].Properties = p
	}
	notes := r.Notes
	if r.Bench != nil {
		notes = append(r.Bench.targetLines(), notes...)
	}
	doc.Suites[0].SystemOut = strings.Join(notes, "\n")
	s := r.Summary()
	doc.Tests, doc.Failures, doc.Skipped, doc.Time = len(r.Cases), s.Failed, s.Skipped, secs(total)
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	b.WriteString("\n")
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 200 {
		line = line[:197] + "..."
	}
	return line
}
