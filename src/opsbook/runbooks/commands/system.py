"""Safety rules for system tools: services, files, processes, git, cloud CLIs, firewalls,
and the generic word lists for everyday Unix utilities."""

from __future__ import annotations

import re

from opsbook.runbooks.commands.argv import (
    Part,
    flag_value,
    has_flag,
    positionals,
    words,
)
from opsbook.runbooks.safety import Verdict, des, mut, ro, unk
from opsbook.runbooks.shellwords import SimpleCommand


def systemctl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """systemctl: status reads; restart/stop change; reboot/poweroff cut users off."""
    pos = positionals(
        args,
        frozenset(
            {
                "-n",
                "--lines",
                "-H",
                "--host",
                "-M",
                "-p",
                "--property",
                "-t",
                "--type",
                "--state",
                "-o",
            }
        ),
    )
    sub = pos[0] if pos else "list-units"
    if sub in (
        "status",
        "show",
        "is-active",
        "is-enabled",
        "is-failed",
        "list-units",
        "list-unit-files",
        "list-timers",
        "list-sockets",
        "cat",
        "list-dependencies",
        "get-default",
        "help",
    ):
        return Part("shell", None, ro(f"systemctl {sub} only reads"))
    if sub in ("poweroff", "reboot", "halt", "kexec", "emergency", "rescue"):
        return Part("shell", None, des(f"systemctl {sub} takes the machine down"))
    if sub in (
        "start",
        "stop",
        "restart",
        "reload",
        "try-restart",
        "reload-or-restart",
        "enable",
        "disable",
        "daemon-reload",
        "mask",
        "unmask",
        "reset-failed",
        "set-property",
        "kill",
        "edit",
        "isolate",
        "try-reload-or-restart",
    ):
        return Part("shell", None, mut(f"systemctl {sub} changes a service (reversible)"))
    return Part("shell", None, unk(f"unrecognised systemctl {sub}"))


def service_manager(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """Process supervisors (gitlab-ctl, supervisorctl, sv, pm2, brew services …)."""
    pos = [a for a in args if not a.startswith("-")]
    verbs = {
        "status",
        "list",
        "ls",
        "show",
        "tail",
        "avail",
        "info",
        "describe",
        "logs",
        "check",
        "version",
        "jlist",
        "monit",
    }
    if not pos or pos[0] in verbs:
        return Part("shell", None, ro(f"{prog} {' '.join(pos[:1])}".strip() + " only reads"))
    if pos[0] in ("delete", "remove", "kill", "flush", "cleanse", "uninstall"):
        return Part("shell", None, des(f"{prog} {pos[0]} removes processes or their data"))
    return Part("shell", None, mut(f"{prog} {pos[0]} changes running services (reversible)"))


def service(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """SysV ``service NAME ACTION``."""
    action = args[1] if len(args) > 1 else "status"
    if action in ("status", "--status-all"):
        return Part("shell", None, ro(f"service {action} only reads"))
    return Part("shell", None, mut(f"service {action} changes a service (reversible)"))


def find(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """find: reads, unless -delete or -exec runs something that changes files."""
    if "-delete" in args:
        return Part("shell", None, des("find -delete deletes the files it matches"))
    for flag in ("-exec", "-execdir", "-ok", "-okdir"):
        if flag in args:
            i = args.index(flag)
            inner = []
            for a in args[i + 1 :]:
                if a in (";", "+", "\\;"):
                    break
                inner.append(a)
            from opsbook.runbooks.commands.dispatch import simple_command

            part = simple_command(
                SimpleCommand(words=inner, quoted=[False] * len(inner)), piped=False
            )
            v = part.verdict
            return Part("shell", None, Verdict(v.safety, f"find {flag} runs: {v.reason}"))
    if any(a.startswith("-fprint") or a == "-fls" for a in args):
        return Part("shell", None, mut("find writes its results to a file"))
    return Part("shell", None, ro("find only lists files"))


def tar(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """tar: -t lists; -c writes an archive; -x extracts over existing files."""
    first = args[0] if args else ""
    mode = first.lstrip("-") if first and not first.startswith("--") else ""
    if "x" in mode or has_flag(args, "--extract", "--get"):
        return Part("shell", None, des("tar -x extracts over existing files (a restore)"))
    if "t" in mode or has_flag(args, "--list"):
        return Part("shell", None, ro("tar -t only lists an archive"))
    if "c" in mode or "r" in mode or has_flag(args, "--create", "--append"):
        return Part("shell", None, mut("tar -c writes an archive file"))
    return Part("shell", None, unk("tar mode cannot be told"))


def kill(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """kill/pkill/killall: reload signals change; the default signal ends processes."""
    sig = next((a.lstrip("-").upper() for a in args if a.startswith("-") and len(a) > 1), "")
    sig = flag_value(args, "-s", "--signal") or sig
    sig = sig.upper().removeprefix("SIG")
    if sig in ("0",):
        return Part("shell", None, ro(f"{prog} -0 only checks that a process exists"))
    if sig in ("HUP", "1", "USR1", "USR2", "10", "12", "CONT", "WINCH"):
        return Part("shell", None, mut(f"{prog} -{sig} asks the process to reload"))
    return Part("shell", None, des(f"{prog} ends processes, cutting their users off"))


def git(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """git: status/log read; reset --hard, clean -f, push --force lose work."""
    pos = positionals(args, frozenset({"-C", "-c", "--git-dir", "--work-tree"}))
    sub = pos[0] if pos else ""
    if (
        (sub == "reset" and "--hard" in args)
        or (sub == "clean" and any(a.startswith("-") and "f" in a for a in args))
        or (sub == "push" and has_flag(args, "--force", "-f", "--force-with-lease", "--delete"))
        or (sub == "branch" and has_flag(args, "-D"))
    ):
        return Part("shell", None, des(f"git {sub} discards work"))
    if sub in (
        "status",
        "log",
        "diff",
        "show",
        "fetch",
        "rev-parse",
        "describe",
        "blame",
        "grep",
        "ls-files",
        "ls-remote",
        "shortlog",
        "reflog",
        "remote",
        "branch",
        "tag",
        "config",
        "help",
        "version",
    ):
        return Part("shell", None, ro(f"git {sub} only reads"))
    return Part("shell", None, mut(f"git {sub} changes the working tree or repository"))


_CLOUD_DES = re.compile(
    r"^(delete|remove|terminate|destroy|purge|rm|rb|deregister|drop|"
    r"revoke|disable-|detach)",
    re.I,
)


_CLOUD_RO = re.compile(
    r"^(describe|list|get|show|ls|head|lookup|wait|view|check|status|"
    r"version|whoami|info|inspect|read|logs|tail|search|query)",
    re.I,
)


def cloud(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """aws/gcloud/az/doctl/vault/terraform/etcdctl and similar verb-style CLIs."""
    pos = positionals(
        args,
        frozenset(
            {
                "--region",
                "--profile",
                "--project",
                "-o",
                "--output",
                "--query",
                "--format",
                "--zone",
                "-g",
                "--resource-group",
                "--subscription",
                "--endpoints",
                "-field",
                "--field",
                "-address",
                "--namespace",
                "-n",
            }
        ),
    )
    if prog == "terraform" and pos[:2] == ["state", "rm"]:
        return Part("shell", None, des("terraform state rm forgets resources"))
    if any(_CLOUD_DES.match(p) for p in pos[:4]) or (prog == "etcdctl" and pos[:1] == ["del"]):
        return Part("shell", None, des(f"{prog} {' '.join(pos[:3])} deletes resources or data"))
    if prog == "aws" and "--delete" in args:
        return Part("shell", None, des("aws s3 sync --delete removes files"))
    verbs = pos[:4]
    if (
        verbs
        and all(not _CLOUD_DES.match(v) for v in verbs)
        and any(_CLOUD_RO.match(v) for v in verbs[1:] or verbs)
    ):
        return Part("shell", None, ro(f"{prog} {' '.join(pos[:3])} only reads"))
    if (
        prog in ("terraform", "tofu")
        and pos[:1]
        and pos[0] in ("plan", "show", "validate", "output", "fmt", "version", "providers", "graph")
    ):
        return Part("shell", None, ro(f"{prog} {pos[0]} only reads"))
    if prog == "vault" and pos[:1] and pos[0] in ("status", "read", "list", "login"):
        return Part("shell", None, ro(f"vault {pos[0]} only reads"))
    if not pos:
        return Part("shell", None, unk(f"{prog} without a command"))
    return Part("shell", None, mut(f"{prog} {' '.join(pos[:3])} changes resources"))


def openssl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """openssl: inspecting and random numbers read; -out writes key or cert files."""
    if has_flag(args, "-out", "-keyout"):
        return Part("shell", None, mut("openssl writes key or certificate files"))
    return Part("shell", None, ro("openssl only inspects or prints"))


def sed_like(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """sed/perl/awk/yq: edits files in place with -i, else only prints."""
    if any(
        a.startswith("-i") or a == "--in-place" or a.startswith("--in-place=") or a == "inplace"
        for a in args
    ):
        return Part("shell", None, mut(f"{prog} -i edits files in place"))
    if prog == "perl":
        return Part("shell", None, unk("perl code whose effect cannot be read here"))
    return Part("shell", None, ro(f"{prog} only prints"))


def crontab(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """crontab: -l reads, -r removes the crontab, others replace it."""
    if "-l" in args:
        return Part("shell", None, ro("crontab -l only lists"))
    if "-r" in args:
        return Part("shell", None, des("crontab -r removes the whole crontab"))
    return Part("shell", None, mut("crontab installs or edits scheduled jobs"))


def firewall(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """iptables/nft/ufw: listing reads; flushing removes every rule; others change rules."""
    low = [a.lower() for a in args]
    if prog in ("iptables", "ip6tables"):  # case matters: -S lists rules, -s is a source
        short = [a for a in args if a.startswith("-") and not a.startswith("--")]
        if any(re.fullmatch(r"-[a-zA-Z]*[FX][a-zA-Z]*", a) for a in short) or has_flag(
            args, "--flush", "--delete-chain"
        ):
            return Part("shell", None, des(f"{prog} flush removes firewall rules"))
        if any(re.fullmatch(r"-[a-zA-Z]*[LS][a-zA-Z]*", a) for a in short) or has_flag(
            args, "--list", "--list-rules"
        ):
            return Part("shell", None, ro(f"{prog} only lists rules"))
        return Part("shell", None, mut(f"{prog} changes firewall rules (reversible)"))
    if any(a in ("-l", "-s", "--list", "list", "status", "--list-rules", "show") for a in low):
        return Part("shell", None, ro(f"{prog} only lists rules"))
    if any(a in ("-f", "--flush", "flush", "reset", "-x", "--delete-chain") for a in low):
        return Part("shell", None, des(f"{prog} flush/reset removes firewall rules"))
    return Part("shell", None, mut(f"{prog} changes firewall rules (reversible)"))


def rabbitmqctl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """rabbitmqctl: list_* and status read; purge/delete/reset lose messages."""
    sub = next((a for a in args if not a.startswith("-")), "")
    if sub.startswith(
        (
            "list",
            "status",
            "cluster_status",
            "environment",
            "report",
            "ping",
            "node_health_check",
            "await_startup",
        )
    ):
        return Part("shell", None, ro(f"rabbitmqctl {sub} only reads"))
    if sub.startswith(("purge", "delete", "reset", "force_reset", "forget", "clear")):
        return Part("shell", None, des(f"rabbitmqctl {sub} deletes queues, messages or state"))
    return Part("shell", None, mut(f"rabbitmqctl {sub} changes the broker"))


READ_ONLY_TOOLS = words("""exit return break continue wait trap shift true false :
ls ll cat less more head tail grep egrep fgrep rg ag awk gawk jq
wc sort uniq cut tr echo printf date df du free top htop atop btop ps pgrep pidof uptime whoami
id hostname uname env printenv which whereis type stat file lsof ss netstat ping ping6 dig
nslookup host traceroute tracepath mtr nc ncat telnet iostat vmstat mpstat sar dmesg
nvidia-smi true false test [ [[ diff cmp md5sum sha1sum sha256sum base64 xxd od hexdump strings
tree realpath readlink basename dirname seq expr bc getent nproc ulimit locale lscpu lsblk
blkid findmnt w who last tput history man help column nl tac sleep read pwd stern kubetail k9s
kubectx kubens timedatectl hostnamectl loginctl systemd-analyze dpkg rpm watch zcat zgrep
zless bzcat xzcat arp route ipcalc curlie tcpdump iftop nethogs iotop glances pstree pmap
numfmt fold fmt paste join comm split csplit yes time tee-none lsmod modinfo journalctl
dmidecode lspci lsusb sensors smartctl ethtool iperf iperf3 speedtest http-prompt aws-vault
envsubst jless gron dog drill whois ab hey pidstat dstat lsns nsenter-none ss""")


MUTATING_TOOLS = words("""mkdir touch cp mv ln chmod chown chgrp chattr install rsync scp
logrotate useradd usermod groupadd passwd gzip gunzip bzip2 xz zip unzip mount umount sysctl
modprobe swapon swapoff update-alternatives export uvicorn gunicorn celery node npm npx yarn
pnpm java go cargo make docker-machine minikube kind sed-i nohup screen tmux ssh-keygen
certbot nginx apachectl caddy kubeadm""")


DESTRUCTIVE_TOOLS = words("""rm shred wipe srm truncate mkfs mkfs.ext4 mkfs.xfs wipefs
fdisk parted sgdisk reboot shutdown halt poweroff dropdb""")


SCRIPT_TOOLS = words("""k6 locust vegeta wrk artillery source . bash sh zsh ansible
ansible-playbook ./""")


_MUTATING_REASONS = {
    "cp": "cp copies files (it may overwrite the target)",
    "mv": "mv moves or renames files",
    "mkdir": "mkdir creates directories",
    "touch": "touch creates or updates files",
    "chmod": "chmod changes file permissions",
    "chown": "chown changes file owners",
    "ln": "ln creates links",
    "rsync": "rsync copies files (it may overwrite the target)",
    "scp": "scp copies files between machines",
    "gzip": "gzip replaces files with compressed ones",
    "gunzip": "gunzip replaces files with decompressed ones",
    "sysctl": "sysctl changes kernel settings",
    "mount": "mount changes mounted file systems",
    "umount": "umount unmounts a file system",
    "logrotate": "logrotate rotates log files",
    "certbot": "certbot requests or renews certificates",
}


def generic(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """Everyday Unix utilities by name: read-only, mutating, destructive or scripts."""
    if prog in ("tee",):
        files = [a for a in args if not a.startswith("-") and a != "/dev/null"]
        return Part(
            "shell",
            None,
            mut(f"tee writes to {files[0]}") if files else ro("tee only passes output through"),
        )
    if prog == "dd":
        if any(a.startswith("of=") for a in args):
            return Part("shell", None, des("dd overwrites its output target"))
        return Part("shell", None, ro("dd only reads"))
    if prog in ("rmdir",):
        return Part("shell", None, mut("rmdir removes empty directories"))
    if prog in ("rsync",) and any(a.startswith("--delete") for a in args):
        return Part("shell", None, des("rsync --delete removes files at the destination"))
    if prog in ("ip", "ifconfig"):
        if any(
            a in ("add", "del", "delete", "set", "flush", "change", "replace", "up", "down")
            for a in args
        ):
            return Part("shell", None, mut(f"{prog} changes network settings"))
        return Part("shell", None, ro(f"{prog} only shows network settings"))
    if prog in ("mount",) and not args:
        return Part("shell", None, ro("mount lists mounts"))
    if prog in ("uvicorn", "gunicorn", "celery", "node", "java") and not (
        prog == "celery" and "inspect" in args
    ):
        return Part("shell", None, mut(f"{prog} starts a long-running process"))
    if prog == "celery":
        return Part("shell", None, ro("celery inspect only reads worker state"))
    if prog in ("journalctl",) and any(a.startswith("--vacuum") for a in args):
        return Part("shell", None, des("journalctl --vacuum deletes old logs"))
    if prog in ("export", "alias", "unset") and args:
        names = ", ".join(a.split("=", 1)[0] for a in args if not a.startswith("-"))[:60]
        return Part(
            "shell",
            None,
            mut(f"{prog} changes the shell session ({names}): later commands there see it"),
        )
    if prog in (
        "export",
        "declare",
        "local",
        "readonly",
        "set",
        "unset",
        "alias",
        "shopt",
        "typeset",
    ):
        return Part("shell", None, ro(f"{prog} only sets shell variables for this session"))
    if prog in ("cd", "pushd", "popd"):
        return Part("shell", None, ro(f"{prog} only changes directory"))
    if prog in ("tcpdump",) and has_flag(args, "-w"):
        return Part("shell", None, mut("tcpdump writes a capture file"))
    if prog in READ_ONLY_TOOLS:
        return Part("shell", None, ro(f"{prog} only reads"))
    if prog in DESTRUCTIVE_TOOLS:
        what = (
            "rm -rf deletes files and directories recursively"
            if prog == "rm" and any(a.startswith("-") and "r" in a.lower() for a in args)
            else f"{prog} deletes data or takes the machine down"
        )
        if prog == "rm":
            what = what if "rm -rf" in what else "rm deletes files"
        return Part("shell", None, des(what))
    if prog in MUTATING_TOOLS:
        return Part("shell", None, mut(_MUTATING_REASONS.get(prog, f"{prog} changes this machine")))
    if prog in SCRIPT_TOOLS:
        return Part("shell", None, unk(f"{prog} runs a script whose effect cannot be read here"))
    if "/" in prog or prog.endswith((".sh", ".py", ".rb", ".pl")):
        return Part("shell", None, unk(f"runs the script {prog}; its effect cannot be read here"))
    return Part("shell", None, unk(f"no rule for `{prog}`"))
