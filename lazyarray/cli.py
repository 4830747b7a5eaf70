"""The ``lazyarray`` command (also ``python -m lazyarray``).

``lazyarray workflows list | show ID [VERSION] | delete ID VERSION`` and
``lazyarray run ID[@VERSION] --arg NAME=VALUE ... --output FILE``, each with
``--registry DIR``; ``lazyarray serve [--host H] [--port P] [--store DIR] ...`` runs a
server (``docs/server.md``). A command is one entry of ``COMMANDS``: a function that adds its
parser, whose ``handler`` default runs it. Errors print one line, ``lazyarray: error:
...``, and exit with status 1 (2 for a command line argparse cannot read).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lazyarray import config
from lazyarray.errors import ArgumentError, ConfigError, LazyArrayError
from lazyarray.version import __version__
from lazyarray.workflows import Workflow, WorkflowVersion, list_workflows, use

Handler = Callable[[argparse.Namespace], int]

# the result format of each suffix of --output
SUFFIXES = {".npy": "npy", ".npz": "npz", ".json": "json", ".arrow": "arrow"}
_SERVER_URLS = ("http://", "https://")  # a registry at one of these is a server
# how every .npy file begins (numpy.lib.format.MAGIC_PREFIX)
NPY_MAGIC = b"\x93NUMPY"


def _registry_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry",
        metavar="DIR|URL",
        help="the registry: a folder, or a lazyarray server's http(s) URL (default: "
        "$LAZYARRAY_REGISTRY, else a per-user folder)",
    )
    return common


# --- lazyarray workflows ------------------------------------------------------------------


def _when(seconds: datetime.datetime) -> str:
    return seconds.strftime("%Y-%m-%d %H:%M:%S UTC")


def _workflow_summary(workflow: Workflow) -> dict[str, Any]:
    found = workflow.versions
    latest = workflow.latest
    return {
        "id": workflow.id,
        "title": workflow.title,
        "description": workflow.description,
        "labels": workflow.labels,
        "tags": workflow.tags,
        "created": workflow.created.isoformat(),
        "updated": workflow.updated.isoformat(),
        "latest": latest.version if latest is not None else None,
        "versions": [version.version for version in found],
    }


def _version_summary(version: WorkflowVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "version": version.version,
        "created": version.created.isoformat(),
        "graph_digest": version.graph_digest,
        "signature": version.signature,
        "arguments": [argument.to_dict() for argument in version.arguments],
        "result": version.result,
        "docstring": version.docstring,
        "labels": version.labels,
    }


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _list(args: argparse.Namespace) -> int:
    found = list_workflows(registry=args.registry, owner=args.owner, tag=args.tag)
    summaries = [_workflow_summary(workflow) for workflow in found]
    if args.json:
        _print_json(summaries)
        return 0
    rows = [("ID", "LATEST", "VERSIONS", "TITLE")] + [
        (s["id"], s["latest"] or "-", str(len(s["versions"])), s["title"]) for s in summaries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for *cells, title in rows:
        padded = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        print(f"{padded}  {title}".rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    workflow = Workflow.get(args.id, registry=args.registry)
    if args.version is not None:
        version = workflow.get_version(args.version)
        if args.json:
            _print_json(_version_summary(version))
            return 0
        print(f"{version.id} {version.version}")
        print(f"  created       {_when(version.created)}")
        print(f"  graph digest  {version.graph_digest}")
        print(f"  signature     {version.signature}")
        for key, value in version.labels.items():
            print(f"  label         {key}={value}")
        if version.docstring:
            print()
            print("\n".join(f"  {line}".rstrip() for line in version.docstring.splitlines()))
        return 0
    summary = _workflow_summary(workflow)
    if args.json:
        _print_json(summary | {"versions": [_version_summary(v) for v in workflow.versions]})
        return 0
    print(workflow.id + (f": {workflow.title}" if workflow.title else ""))
    if workflow.description:
        print("\n".join(f"  {line}".rstrip() for line in workflow.description.splitlines()))
    if workflow.tags:
        print(f"  tags     {', '.join(workflow.tags)}")
    for key, value in workflow.labels.items():
        print(f"  label    {key}={value}")
    print(f"  created  {_when(workflow.created)}")
    print(f"  updated  {_when(workflow.updated)}")
    found = workflow.versions
    print("versions:" if found else "versions: none")
    width = max((len(version.version) for version in found), default=0)
    for version in found:
        latest = "  (latest)" if version.version == summary["latest"] else ""
        print(
            f"  {version.version.ljust(width)}  {_when(version.created)}  "
            f"{version.signature}{latest}"
        )
    return 0


def _delete(args: argparse.Namespace) -> int:
    Workflow.get(args.id, registry=args.registry).delete_version(args.version)
    print(f"deleted {args.id} {args.version} (its number can never be published again)")
    return 0


def add_workflows(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("workflows", help="list, show and delete published workflows")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="the registry's workflows")
    listing.add_argument("--owner", help="only this owner's workflows")
    listing.add_argument("--tag", help="only the workflows with this tag")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    show = actions.add_parser("show", parents=[common], help="a workflow, or one version")
    show.add_argument("id", metavar="ID", help="owner:name")
    show.add_argument("version", metavar="VERSION", nargs="?", help="a version number")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_show)

    delete = actions.add_parser(
        "delete", parents=[common], help="delete a version for good (never reused)"
    )
    delete.add_argument("id", metavar="ID", help="owner:name")
    delete.add_argument("version", metavar="VERSION", help="a version number")
    delete.set_defaults(handler=_delete)


# --- lazyarray run --------------------------------------------------------------------------


def _argument(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: a ``.npy`` file (read without pickles), else a JSON number, bool or
    nested list."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise ArgumentError(f"--arg {text!r}: expected NAME=VALUE (a .npy file or a number)")
    if value.endswith(".npy"):
        try:
            with open(value, "rb") as file:
                if file.read(len(NPY_MAGIC)) != NPY_MAGIC:
                    raise ArgumentError(
                        f"--arg {name}: {value} is not an .npy file (numpy.save writes one)"
                    )
                file.seek(0)
                return name, np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ArgumentError(f"--arg {name}: cannot read {value}: {exc}") from None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if parsed is None or isinstance(parsed, (str, dict)):
        raise ArgumentError(
            f"--arg {name}={value}: a value is a .npy file, or a number, true/false or a "
            "list in JSON"
        )
    return name, parsed


def _run(args: argparse.Namespace) -> int:
    workflow_id, at, version = args.target.partition("@")
    if at and not version:
        raise ArgumentError(f"{args.target!r}: a version follows '@' (ID@1.2.0)")
    arguments: dict[str, Any] = {}
    for text in args.arg:
        name, value = _argument(text)
        if name in arguments:
            raise ArgumentError(f"--arg {name} is given twice")
        arguments[name] = value
    # the flag, else the option ($LAZYARRAY_REGISTRY): a server's URL means the same
    registry = args.registry if args.registry is not None else config.options.registry
    obj = use(workflow_id, version or None, registry=registry)
    if not callable(obj) and arguments:
        raise ArgumentError(f"{args.target} takes no arguments ({', '.join(arguments)} given)")
    expression = obj(**arguments) if callable(obj) else obj
    options: dict[str, Any] = {"backend": args.backend}
    if args.server is not None:
        options["server"] = args.server
    elif args.backend == "remote" and str(registry or "").lower().startswith(_SERVER_URLS):
        options["server"] = registry  # the registry's server runs it
    if args.server is not None and args.backend is None:
        options["backend"] = "remote"
    if args.output is not None:
        output = Path(args.output)
        form = args.format or SUFFIXES.get(output.suffix.lower())
        if form is None:
            raise ArgumentError(
                f"--output {output}: give --format, or a file ending with {', '.join(SUFFIXES)}"
            )
        expression.compute(format=form, file=output, **options)
        return 0
    if args.format is not None:
        sys.stdout.buffer.write(expression.compute(format=args.format, **options))
        return 0
    print(expression.compute(**options))
    return 0


def add_run(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "run", parents=[common], help="call a published workflow with arguments"
    )
    parser.add_argument("target", metavar="ID[@VERSION]", help="default: the latest release")
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an argument: a .npy file, or a JSON number or list (repeat for each)",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the result here (format from its suffix)"
    )
    parser.add_argument("--format", choices=sorted(set(SUFFIXES.values())))
    parser.add_argument("--backend", help="the backend to compute on (default: the option)")
    parser.add_argument(
        "--server",
        metavar="URL",
        help="compute on this lazyarray server (without it, --backend remote with a "
        "registry's URL, from --registry or $LAZYARRAY_REGISTRY: the registry's server)",
    )
    parser.set_defaults(handler=_run)


# --- lazyarray serve ---------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    try:
        from lazyarray.server.serve import serve
    except ImportError as exc:
        raise ConfigError(
            f"lazyarray serve needs the server extra ({exc.name} is missing): "
            "pip install 'lazyarray[server]'"
        ) from None
    return serve(
        host=args.host,
        port=args.port,
        store=args.store or _default_store(),
        workers=args.workers,
        dask_scheduler=args.dask_scheduler,
        token_file=args.token_file,
        trusted=args.trusted,
        grace=args.grace,
        lease=args.lease,
        assets=Path(args.assets) if args.assets else None,
        keep_results=args.keep_results,
    )


def _default_store() -> str:
    import platformdirs

    return str(platformdirs.user_data_path("lazyarray") / "server")


def add_serve(commands: Any, common: argparse.ArgumentParser) -> None:
    from lazyarray.server.serve import add_arguments

    parser = commands.add_parser(
        "serve", help="run a server: expressions as durable jobs over HTTP (docs/server.md)"
    )
    add_arguments(parser)
    parser.set_defaults(handler=_serve)


# --- the command ------------------------------------------------------------------------------

COMMANDS: list[Callable[[Any, argparse.ArgumentParser], None]] = [
    add_workflows,
    add_run,
    add_serve,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lazyarray",
        description="Published lazyarray workflows, from the shell; a lazyarray server.",
    )
    parser.add_argument("--version", action="version", version=f"lazyarray {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _registry_option()
    for add in COMMANDS:
        add(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (LazyArrayError, OSError) as exc:
        print(f"lazyarray: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
