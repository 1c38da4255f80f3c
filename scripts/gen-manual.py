#!/usr/bin/env python3
"""Writes hanet(1) from the command definitions: the JSON that
`hanet --experimental-dump-help` prints (swift-argument-parser's ToolInfo).

    gen-manual.py HANET_BINARY OUT_FILE

swift-argument-parser's own generate-manual plugin builds the whole package
again with its own settings (not --static-swift-stdlib) into the same
.build/release, replacing the binary being packaged; reading the same JSON
here costs nothing and keeps one release build.
"""
import datetime
import json
import os
import subprocess
import sys
import time


def esc(text):
    """roff-safe text: backslashes doubled, a leading dot or quote neutralised on every line."""
    text = text.replace("\\", "\\e")
    lines = [".PP" if not l.strip() else ("\\&" + l) if l.startswith((".", "'")) else l for l in text.split("\n")]
    return "\n".join(lines)


def flag_names(arg):
    names = []
    for n in arg.get("names", []):
        names.append(("-" if n["kind"] == "short" else "--") + n["name"])
    return names


def synopsis_item(arg):
    if arg["kind"] == "positional":
        s = "<%s>" % arg["valueName"]
    else:
        pref = arg.get("preferredName") or arg["names"][0]
        s = ("-" if pref["kind"] == "short" else "--") + pref["name"]
        if arg["kind"] == "option":
            s += " <%s>" % arg["valueName"]
    if arg.get("isRepeating"):
        s += " ..."
    return "[%s]" % s if arg.get("isOptional") else s


def visible(args):
    return [a for a in args or [] if a.get("shouldDisplay", True) and a.get("valueName") not in ("help", "version")]


def arguments(args, out):
    for a in visible(args):
        if a["kind"] == "positional":
            head = "\\fI<%s>\\fR" % a["valueName"]
        else:
            head = ", ".join("\\fB%s\\fR" % esc(n) for n in flag_names(a))
            if a["kind"] == "option":
                head += " \\fI<%s>\\fR" % esc(a["valueName"])
        out.append(".TP\n" + head)
        text = a.get("abstract", "")
        if a.get("defaultValue") not in (None, ""):
            text += " (default: %s)" % a["defaultValue"]
        out.append(esc(text))
        if a.get("discussion"):
            out.append(".IP\n" + esc(a["discussion"]))


def command(cmd, path, out):
    """One subsection per command, depth first, in the order `--help` lists them."""
    name = " ".join(path)
    out.append('.SS "%s"' % esc(name))
    syn = " ".join(synopsis_item(a) for a in visible(cmd.get("arguments")))
    out.append(".B %s\n%s" % (esc(name), esc(syn)))
    out.append(".PP\n" + esc(cmd.get("abstract", "")))
    if cmd.get("discussion"):
        out.append(".PP\n" + esc(cmd["discussion"]))
    if visible(cmd.get("arguments")):
        arguments(cmd["arguments"], out)
    for sub in cmd.get("subcommands") or []:
        if sub.get("shouldDisplay", True):
            command(sub, path + [sub["commandName"]], out)


def main():
    binary, target = sys.argv[1], sys.argv[2]
    info = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout)
    version = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    top = info["command"]
    # SOURCE_DATE_EPOCH keeps the page reproducible (Debian's convention).
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    date = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    out = ['.TH HANET 1 "%s" "%s" "HANet manual"' % (date.strftime("%Y-%m-%d"), esc(version)),
           ".SH NAME", "hanet \\- " + esc(top.get("abstract", "")),
           ".SH SYNOPSIS", ".B hanet", "<command> [<options>]",
           ".SH DESCRIPTION", esc(top.get("discussion", "")),
           ".SH COMMANDS"]
    for sub in top.get("subcommands") or []:
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            command(sub, ["hanet", sub["commandName"]], out)
    out += [".SH FILES",
            ".TP\n/etc/hanet/hanet.toml\nThe configuration (\\fBhanet check\\fR validates it).",
            ".TP\n/usr/lib/hanet/plugins\nThe plugins: link types and detectors.",
            ".TP\n/var/lib/hanet/plugins.json\nWhich plugins are disabled.",
            ".TP\n/run/hanet/hanet.sock\nThe control socket the client commands talk to.",
            ".SH SEE ALSO", "\\fBsystemctl\\fR(1), \\fBnft\\fR(8), \\fBip\\fR(8)"]
    with open(target, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
