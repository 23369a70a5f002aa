"""Unpacks Debian packages of another architecture into a folder, with what they
depend on, for running that architecture's programs under qemu-user (`qemu-aarch64
-L DIR`): no chroot, no maintainer scripts, no binfmt_misc (which this machine may not
have). Only Debian's own mirror is read.

    python3 debian_sysroot.py ARCH DIR PACKAGE...

Dependencies are followed through Depends and Pre-Depends (the first of each set of
alternatives; virtual packages by the first package that provides them), leaving out
the packaging tools themselves, which nothing run here needs.
"""
import io
import lzma
import os
import subprocess
import sys
import urllib.request

MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
SKIP = {"debconf", "dpkg", "perl-base", "install-info", "debconf-2.0", "init-system-helpers", "coreutils"}


def packages(arch):
    url = f"{MIRROR}/dists/{SUITE}/main/binary-{arch}/Packages.xz"
    text = lzma.decompress(urllib.request.urlopen(url, timeout=120).read()).decode()
    by_name, provides = {}, {}
    for stanza in text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith(" ") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            by_name.setdefault(fields["Package"], fields)
            for p in fields.get("Provides", "").split(","):
                if p.strip():
                    provides.setdefault(p.split("(")[0].strip(), fields["Package"])
    return by_name, provides


def main():
    arch, root, *wanted = sys.argv[1:]
    by_name, provides = packages(arch)
    todo, chosen = list(wanted), []
    while todo:
        name = todo.pop().split(":")[0]
        name = name if name in by_name else provides.get(name, name)
        if name in chosen or name in SKIP:
            continue
        if name not in by_name:
            sys.exit(f"no package {name} for {arch} in {SUITE}")
        chosen.append(name)
        fields = by_name[name]
        for key in ("Pre-Depends", "Depends"):
            for group in fields.get(key, "").split(","):
                first = group.split("|")[0].split("(")[0].strip()
                if first:
                    todo.append(first)
    os.makedirs(root, exist_ok=True)
    for name in sorted(chosen):
        deb = urllib.request.urlopen(f"{MIRROR}/{by_name[name]['Filename']}", timeout=300).read()
        subprocess.run(["dpkg-deb", "-x", "/dev/stdin", root], input=deb, check=True)
    print(f"{root}: {len(chosen)} {arch} packages from Debian {SUITE}: {' '.join(sorted(chosen))}")


if __name__ == "__main__":
    main()
