// Command probe is the e2e test image's network probe (ci/images/busybox puts it
// at /bin/probe beside busybox): what busybox cannot do, or not exactly enough
// to be a verdict.
//
//	probe serve [-http :9080] [-udp :9000]   UDP echo server; HTTP server of /bytes?n=N and
//	                                          /stream?s=SECONDS (zeros, as fast as read)
//	probe udp ADDR [-size N] [-df]            send one datagram of N payload bytes (with
//	                                          Don't-Fragment), wait for its echo
//	probe http URL [-bytes N]                 GET; with -bytes, the body must be N bytes of
//	                                          the /bytes pattern (checked by SHA-256)
//	probe dns NAME [-transport tcp|udp] [-server IP:PORT]
//	                                          resolve through /etc/resolv.conf (search path),
//	                                          every query over tcp (or udp) when given
//	probe udp-name [-udp :9000] [-name N]     UDP server answering each datagram "name=N"
//	                                          (default N: the host name, a pod's name)
//	probe udp-sticky ADDR -sport P -until N [-interval 100ms] [-timeout 60s]
//	                                          from source port P, a datagram every interval
//	                                          to a udp-name server; "answer <name> at_ms=..."
//	                                          each time the answering name changes, then
//	                                          "ok ..." once N answered, or "fail ..."
//	probe https URL [-ca FILE] [-connect IP:PORT]
//	                                          any HTTP answer over TLS verified with FILE for
//	                                          the URL's host, dialling IP:PORT if given
//	probe burst ADDR [-count 50] [-interval 20ms] [-size 64] [-wait 1s]
//	                                          UDP echoes to a probe serve: loss and RTT p50/p99
//	probe throughput ADDR [-duration 1s] [-warmup 200ms]
//	                                          TCP: reads http://ADDR/stream, reports Mbit/s
//	probe first-answer ADDR [-timeout 30s]    dial ADDR (TCP) every 20 ms until it answers; the
//	                                          time goes to the termination message (readiness)
//
// The rollout gate's live traffic (rollout/, events in rollout/flow):
//
//	probe stream-server [-tcp :7000] [-udp :7001]   TCP echo and UDP echo, until killed
//	probe stream-client -target NAME=HOST ... [-tcp-port 7000] [-udp-port 7001]
//	      [-interval 100ms] [-connect-interval 200ms] [-timeout 5s] [-flush 1s]
//	                                          per target: a long-lived TCP connection echoing
//	                                          a message every interval, a UDP echo stream, a
//	                                          new connection every connect interval; JSON
//	                                          lines (flow.Event) on stdout until SIGTERM
//	probe reach -tcp NAME=HOST:PORT -udp NAME=HOST:PORT ... [-timeout 15s]
//	                                          one flow.ReachResult JSON line per target;
//	                                          exit 1 when one did not answer in time
//
// Each other client command prints one line, "ok key=value ..." and exits 0, or
// "fail <what happened>" and exits 1; e2e/harness parses that line.
package main
