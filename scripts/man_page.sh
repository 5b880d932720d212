#!/usr/bin/env bash
# Writes llamps(1) in roff from the binary's own help: the command list of `llamps --help`,
# then each command's `--help`, so the page never drifts from the options.
# Usage: man_page.sh LLAMPS_BINARY VERSION > llamps.1
set -euo pipefail
llamps=$1 version=$2
# roff: a leading dot or quote would start a request, a backslash an escape.
quote() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
cat <<ROFF
.TH LLAMPS 1 "" "llamps $version" "User Commands"
.SH NAME
llamps \- run large language models on the leftover capacity of many machines
.SH SYNOPSIS
.B llamps
.I command
[\fIoptions\fR]
.br
.B llamps \-\-version
.SH DESCRIPTION
LLaMPS lets machines contribute their spare memory and cores, computes an optimal placement
of a model's transformer blocks over them, deploys the block ranges, and serves inference
sessions whose hidden states flow through the chain of block hosts. Nodes are configured
by an INI file (\fB/etc/llamps/node.ini\fR, \fB/etc/llamps/registry.ini\fR); every key is also
a command-line option, which wins.
.SH COMMANDS
.nf
ROFF
"$llamps" --help | sed -n '/^commands:/,$p' | tail -n +2 | quote
echo ".fi"
for command in $("$llamps" --help | sed -n '/^commands:/,$p' | tail -n +2 | awk '{print $1}'); do
  echo ".SS $command"
  echo ".nf"
  "$llamps" "$command" --help 2>&1 | quote
  echo ".fi"
done
cat <<'ROFF'
.SH FILES
.TP
.B /etc/llamps/node.ini
a contributor's configuration (service \fBllamps-node\fR)
.TP
.B /etc/llamps/registry.ini
the registry's configuration (service \fBllamps-registry\fR)
.TP
.B /var/lib/llamps
the services' state: local model copies, the block cache, the registry's state file
.SH SIGNALS
A node leaves at once on SIGINT, drains on SIGTERM (its blocks move to other servers, the
sessions in flight get \fBdrain-seconds\fR), and re-reads its configuration file on SIGHUP.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1)
ROFF
