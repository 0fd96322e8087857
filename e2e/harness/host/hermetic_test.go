package host

import (
	"strings"
	"testing"
)

func TestHermeticRuleCluster(t *testing.T) {
	spec := HermeticRule("br-0123456789ab", "cnigate-e2e")
	if got := strings.Join(spec, " "); got != `-i br-0123456789ab ! -o br-0123456789ab -m comment --comment cnigate-e2e hermetic: cnigate-e2e -j DROP` {
		t.Errorf("rule %q", got)
	}
	for _, c := range []struct {
		listed, cluster string
		ok              bool
	}{
		{`-A DOCKER-USER -i br-0123456789ab ! -o br-0123456789ab -m comment --comment "cnigate-e2e hermetic: cnigate-e2e" -j DROP`, "cnigate-e2e", true},
		{`-A DOCKER-USER -i br-1 ! -o br-1 -m comment --comment "cnigate-e2e hermetic: cnigate" -j DROP`, "cnigate", true},
		{`-A DOCKER-USER -j RETURN`, "", false},
		{`-A DOCKER-USER -m comment --comment "something else" -j DROP`, "", false},
	} {
		got, ok := HermeticRuleCluster(c.listed)
		if got != c.cluster || ok != c.ok {
			t.Errorf("HermeticRuleCluster(%q) = %q, %v; want %q, %v", c.listed, got, ok, c.cluster, c.ok)
		}
	}
}
