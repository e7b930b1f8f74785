"""Safety rules for docker, podman, nerdctl and docker compose."""

from __future__ import annotations

from opsbook.runbooks.commands.argv import (
    Part,
    has_flag,
    positionals,
    positionals_until_command,
    run_inner,
    words,
)
from opsbook.runbooks.safety import des, mut, ro, unk, worst
from opsbook.runbooks.shellwords import SimpleCommand

_DOCKER_GLOBAL = words("""-H --host --context -c --config -l --log-level -n --namespace -a
--address --snapshotter --cgroup-manager --storage-driver --url --connection --tlscacert
--tlscert --tlskey""")


_DOCKER_RUN_ARGS = words("""-e --env -u --user -w --workdir --name -p --publish -v --volume
--network --entrypoint --env-file -l --label --mount --memory -m --cpus --restart --platform
--detach-keys --hostname -h --add-host --log-driver --pull --gpus --ulimit --device
--cap-add --cap-drop --security-opt --tmpfs --shm-size""")


_DOCKER_RO = words("""ps logs inspect stats top images version info events port diff history
search""")


_DOCKER_MUT = words("""restart start stop pause unpause update pull build tag push create cp
commit rename kill load import save login logout wait""")


_DOCKER_OBJECTS = words("""container image volume network system builder context node
service stack secret config plugin manifest buildx swarm trust""")


def docker(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """docker, podman and nerdctl: ps/logs read; restart/stop change; rm/prune delete."""
    pos_all = positionals(args, _DOCKER_GLOBAL)
    if not pos_all:
        return Part("docker", None, unk(f"{prog} without a subcommand"))
    sub = pos_all[0]
    idx = args.index(sub)
    rest = args[idx + 1 :]
    if sub == "compose":
        return compose(f"{prog} compose", rest, cmd, piped)
    if sub == "exec":
        pos = positionals_until_command(
            rest,
            frozenset(
                {"-e", "--env", "-u", "--user", "-w", "--workdir", "--detach-keys", "--env-file"}
            ),
        )
        return run_inner(pos[1:], f"{prog} exec", "docker", cmd, piped)
    if sub == "run":
        pos = positionals_until_command(rest, _DOCKER_RUN_ARGS)
        if len(pos) > 1:
            part = run_inner(pos[1:], f"{prog} run", "docker", cmd, piped)
            v = worst([mut(f"{prog} run starts a new container"), part.verdict])
            return Part("docker", part.inner_kind, v)
        return Part("docker", None, mut(f"{prog} run starts a new container"))
    if sub in _DOCKER_OBJECTS:
        action = positionals(rest, _DOCKER_GLOBAL)[:1]
        act = action[0] if action else ""
        what = f"{prog} {sub} {act}".strip()
        if act == "prune":
            return Part("docker", None, des(f"{what} permanently deletes unused {sub} data"))
        if act in ("rm", "remove", "delete"):
            return Part("docker", None, des(f"{what} deletes the {sub} and its data"))
        if act in (
            "ls",
            "list",
            "inspect",
            "ps",
            "logs",
            "df",
            "info",
            "events",
            "show",
            "top",
            "stats",
            "history",
            "port",
            "diff",
            "tasks",
        ) or (sub == "manifest"):
            return Part("docker", None, ro(f"{what} only reads"))
        if act == "exec":
            return docker(prog, ["exec", *rest[1:]], cmd, piped)
        if act == "scale" and any(a.endswith("=0") for a in rest):
            return Part("docker", None, des(f"{what} to zero takes the service offline"))
        return Part("docker", None, mut(f"{what} changes Docker state (reversible)"))
    if sub in ("rm", "rmi"):
        return Part("docker", None, des(f"{prog} {sub} deletes containers or images"))
    if sub in _DOCKER_RO:
        return Part("docker", None, ro(f"{prog} {sub} only reads"))
    if sub in _DOCKER_MUT:
        return Part("docker", None, mut(f"{prog} {sub} changes container state (reversible)"))
    if sub == "attach":
        return Part("docker", None, unk(f"{prog} attach joins a running process"))
    return Part("docker", None, unk(f"unrecognised {prog} subcommand {sub}"))


_COMPOSE_GLOBAL = words("""-f --file -p --project-name --env-file --profile
--project-directory --ansi --progress --parallel""")


_COMPOSE_RO = words("ps logs config top images version ls port events")


_COMPOSE_MUT = words("""up restart start stop pull build create pause unpause kill scale push
cp convert watch attach""")


def compose(
    prog: str, args: list[str], cmd: SimpleCommand | None = None, piped: bool = False
) -> Part:
    """docker compose / docker-compose / nerdctl compose subcommands."""
    pos = positionals(args, _COMPOSE_GLOBAL)
    if not pos:
        return Part("docker", None, unk(f"{prog} without a subcommand"))
    sub = pos[0]
    rest = args[args.index(sub) + 1 :]
    if sub in ("exec", "run"):
        inner = positionals_until_command(
            rest,
            frozenset(
                {
                    "-e",
                    "--env",
                    "-u",
                    "--user",
                    "-w",
                    "--workdir",
                    "--index",
                    "--name",
                    "--entrypoint",
                    "-p",
                    "--publish",
                    "-v",
                    "--volume",
                    "-l",
                    "--label",
                }
            ),
        )
        part = run_inner(inner[1:], f"{prog} {sub}", "docker", cmd, piped)
        if sub == "run":
            return Part(
                "docker",
                part.inner_kind,
                worst([mut(f"{prog} run starts a one-off container"), part.verdict]),
            )
        return part
    if sub == "down":
        if has_flag(rest, "-v", "--volumes"):
            return Part(
                "docker", None, des(f"{prog} down -v removes containers and their volumes (data)")
            )
        return Part(
            "docker", None, mut(f"{prog} down stops and removes containers; up recreates them")
        )
    if sub == "rm":
        return Part("docker", None, des(f"{prog} rm deletes stopped containers"))
    if sub in _COMPOSE_RO:
        return Part("docker", None, ro(f"{prog} {sub} only reads"))
    if sub in _COMPOSE_MUT:
        return Part("docker", None, mut(f"{prog} {sub} changes service containers (reversible)"))
    return Part("docker", None, unk(f"unrecognised {prog} subcommand {sub}"))
