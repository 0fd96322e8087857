// Command slowdown is a black-box slower plugin for checking the bench gate:
// it sleeps, then execs the real plugin with the same arguments, environment,
// stdin, stdout and stderr (the same process: exec, not a child), so the
// bench measures exactly what a plugin that takes that much longer would
// cost.
//
// It is configured by its own file name, because a CNI runtime (and the
// bench) hands a plugin nothing but the CNI variables: install it, or a
// symlink to it, as NAME+DURATION next to the plugin NAME, e.g.
// bin/podnet+5ms. Run as bin/podnet+5ms, it sleeps 5 ms when CNI_COMMAND is
// ADD (other commands pass straight through) and execs bin/podnet.
// NAME+DURATION@CMD[,CMD...] slows those commands instead (podnet+5ms@ADD,DEL).
// DURATION is anything time.ParseDuration reads. NAME%DURATION burns that
// much CPU time instead of sleeping (a busy loop until the process's CPU
// clock has advanced by DURATION): a candidate that costs that much more
// CPU, which the bench gate's CPU metrics (and, stretched by the machine's
// load, its latencies) must catch, while a sleep costs no CPU.
//
// A bad name or a missing plugin is a CNI error (code 999, "slowdown: ...")
// on stdout, exit 1.
package main
