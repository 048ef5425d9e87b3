"""The architecture rules, as functions from source text to violations.

Each rule takes a module's source and its repository path (`src/tandem/...`, POSIX separators)
and returns what it breaks, each naming `file:line` and what to do instead. The tests run every
rule over the real `src/` tree and over a good and a bad example, so a rule that stops catching
anything fails too.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "tandem"


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place."""

    path: str
    line: int
    message: str
    function: str = ""  # the enclosing function ("" at module level), for allowlists

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


Rule = Callable[[str, str], list[Violation]]


def source_files() -> Iterator[tuple[str, str]]:
    """Yield (repository path, source) of every Python module under src/tandem."""
    for file in sorted(SRC.rglob("*.py")):
        if "migrations" in file.parts:
            continue
        yield file.relative_to(ROOT).as_posix(), file.read_text(encoding="utf-8")


def check_tree(
    rule: Rule, pending: Collection[tuple[str, str]] = ()
) -> tuple[list[Violation], list[tuple[str, str]]]:
    """Run a rule over src/tandem; return the violations not pending, and stale pending entries.

    `pending` lists (module, function) places known to break the rule that their owners are
    fixing; an entry that no longer breaks it is stale and must be removed from the list.
    """
    found: list[Violation] = []
    for path, source in source_files():
        found.extend(rule(source, path))
    seen = {(v.path, v.function) for v in found}
    stale = sorted(set(pending) - seen)
    return [v for v in found if (v.path, v.function) not in pending], stale


def report(violations: list[Violation], advice: str) -> str:
    """Return a failure message: each violation on its own line, then what to do."""
    lines = "\n".join(f"  {v}" for v in violations)
    return f"{len(violations)} architecture violation(s):\n{lines}\n{advice}"


class _Module:
    """A parsed module with each node's enclosing function (for 'only inside X' rules)."""

    def __init__(self, source: str) -> None:
        self.tree = ast.parse(source)
        self._function: dict[ast.AST, str | None] = {}
        self._walk(self.tree, None)

    def _walk(self, node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                else function
            )
            self._function[child] = inner
            self._walk(child, inner)

    def function_of(self, node: ast.AST) -> str | None:
        """Return the name of the function a node is in (None: module level)."""
        return self._function.get(node)

    def violation(self, path: str, node: ast.AST, message: str) -> Violation:
        """Return a violation at a node, naming its enclosing function."""
        line = getattr(node, "lineno", 0)
        return Violation(path, line, message, self.function_of(node) or "")

    def nodes(self) -> Iterator[ast.AST]:
        """Yield every node."""
        return ast.walk(self.tree)

    def imported_from(self, prefix: str) -> set[str]:
        """Return the local names bound by `from <prefix>... import name` / `import <prefix>...`."""
        names: set[str] = set()
        for node in self.nodes():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(prefix):
                names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(prefix):
                        names.add(alias.asname or alias.name.split(".")[0])
        return names


def _root_name(node: ast.AST) -> str | None:
    """Return `a` for `a`, `a.b.c` and `a.b().c`."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def _targets(node: ast.AST) -> Iterator[ast.AST]:
    """Yield the assigned expressions of an assignment, unpacking tuples."""
    if isinstance(node, ast.Assign):
        pending = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        pending = [node.target]
    else:
        return
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        else:
            yield target


# --- a. conversation status only through the state machine --------------------------------------

# The one write: conversations.service.change_status -> conversations.models.apply_transition,
# which the model's `validates("status")` hook lets through (a new conversation gets its first
# status where it is built, in start_conversation).
STATUS_WRITER = ("src/tandem/conversations/models.py", "apply_transition")
STATUS_MACHINE_CALLER = ("src/tandem/conversations/service.py", "change_status")
CONVERSATION_BUILDER = ("src/tandem/conversations/service.py", "start_conversation")
# Other models with a `status` column, each changed only by its own module. In these modules a
# `.status` write is taken to be on their own model unless the object is named like a
# conversation (`conversation`, `convo`, ...). test_status_models_are_the_known_ones keeps this
# list complete.
OTHER_STATUS_OWNERS = {
    "src/tandem/triage/service.py": "ModelVersion.status (candidate -> active -> retired)",
    "src/tandem/triage/training.py": "TrainingRun.status (queued -> running -> succeeded|failed)",
    "src/tandem/learning/service.py": "AnswerCandidate.status (pending -> approved|dismissed)",
}
# Pending issue 8 (the lead switches these to apply_transition, then empties this):
STATUS_PENDING_LEAD: set[tuple[str, str]] = set()
_STATUS_ADVICE = (
    "a conversation's status changes only through the state machine: call "
    "tandem.conversations.service.change_status(session, conversation, Action.<X>, ...)"
)


def _looks_like_conversation(node: ast.AST) -> bool:
    name = _root_name(node) or ""
    return "conv" in name.lower()


def status_assignments(source: str, path: str) -> list[Violation]:
    """Find conversation status writes outside the state machine.

    Caught: `x.status = ...` (also in tuples and `+=`), `setattr(x, "status", ...)`,
    `update(...).values(status=...)`, `Conversation(status=...)` and `apply_transition(...)`
    anywhere but their one place. Modules that own another status model (OTHER_STATUS_OWNERS)
    may write `.status` on objects not named like a conversation.
    """
    module = _Module(source)
    found: list[Violation] = []
    other_owner = path in OTHER_STATUS_OWNERS

    def allowed(node: ast.AST, *places: tuple[str, str]) -> bool:
        where = (path, module.function_of(node) or "")
        return where in places

    def flag(node: ast.AST, what: str) -> None:
        found.append(module.violation(path, node, f"{what}; {_STATUS_ADVICE}"))

    for node in module.nodes():
        for target in _targets(node):
            if not (isinstance(target, ast.Attribute) and target.attr == "status"):
                continue
            if other_owner and not _looks_like_conversation(target.value):
                continue
            if not allowed(node, STATUS_WRITER):
                flag(node, "assigns `.status` outside the state machine")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "setattr" and len(node.args) >= 2:
            key = node.args[1]
            if isinstance(key, ast.Constant) and key.value == "status":
                flag(node, 'calls setattr(..., "status", ...)')
        elif name == "values":
            keys = {k.arg for k in node.keywords} | {
                k.value
                for arg in node.args
                if isinstance(arg, ast.Dict)
                for k in arg.keys
                if isinstance(k, ast.Constant)
            }
            touches_conversation = "Conversation" in ast.unparse(func)
            if "status" in keys and (touches_conversation or not other_owner):
                flag(node, "bulk-updates `status` (bypasses the model's guard too)")
        elif name == "Conversation" and any(k.arg == "status" for k in node.keywords):
            if not allowed(node, CONVERSATION_BUILDER):
                flag(node, "builds a Conversation with a status (only start_conversation does)")
        elif name == "apply_transition" and not allowed(node, STATUS_MACHINE_CALLER):
            flag(node, "calls apply_transition directly")
    return found


CONVERSATIONS_SERVICE = "src/tandem/conversations/service.py"
_ROWS_ADVICE = (
    "conversations and messages are created (and bulk-changed) only in "
    "tandem.conversations.service: call start_conversation / post_message, or add a named "
    "function there"
)


def conversation_rows(source: str, path: str) -> list[Violation]:
    """Find `Conversation(...)`/`Message(...)` built, or bulk `update/delete/insert` of them,
    outside tandem.conversations.service."""
    if path == CONVERSATIONS_SERVICE:
        return []
    module = _Module(source)
    models = module.imported_from("tandem.conversations.models") & {"Conversation", "Message"}
    found: list[Violation] = []
    for node in module.nodes():
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        if name in models:
            found.append(module.violation(path, node, f"builds a {name}; {_ROWS_ADVICE}"))
        elif name in ("update", "delete", "insert") and any(
            isinstance(arg, ast.Name) and arg.id in models for arg in node.args
        ):
            found.append(
                module.violation(path, node, f"{name}s {ast.unparse(node)} rows; {_ROWS_ADVICE}")
            )
    return found


# --- b. commit and rollback only in the transaction owners ---------------------------------------

# (module, function) that own a transaction: they open the session, so they end it.
TRANSACTION_OWNERS = {
    # `with transaction(factory) as session:` - the job worker, periodic tasks, long jobs'
    # short transactions, the CLI (cli_transaction), SSE reads, the demo and benchmarks.
    ("src/tandem/db/session.py", "transaction"),
    # SessionDep: one session per request, committed before the response is sent.
    ("src/tandem/api/deps.py", "get_session"),
}
_TRANSACTION_ADVICE = (
    "only the transaction owners commit or roll back (tandem.db.session.transaction, "
    "tandem.api.deps.get_session). In a route, SessionDep commits before the response is sent "
    "and rolls back on an exception; elsewhere open `with transaction(factory) as session:`; to "
    "throw work away, raise (or close a plain session without committing)"
)


def transaction_calls(source: str, path: str) -> list[Violation]:
    """Find `.commit()` / `.rollback()` (called or passed on) outside TRANSACTION_OWNERS."""
    module = _Module(source)
    found: list[Violation] = []
    for node in module.nodes():
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("commit", "rollback")
            and (path, module.function_of(node) or "") not in TRANSACTION_OWNERS
        ):
            found.append(
                module.violation(path, node, f"uses `.{node.attr}`; {_TRANSACTION_ADVICE}")
            )
    return found


# --- c. views call services; they do not query ------------------------------------------------

SESSION_METHODS = frozenset(
    {"query", "get", "scalar", "scalars", "execute", "add", "add_all", "delete", "merge"}
)
STATEMENTS = frozenset({"select", "update", "delete", "insert", "text"})
# Pending issue 8: (module, function) -> who moves the query into which service. Emptied as
# they are fixed; nothing may be added.
VIEW_QUERIES_PENDING: dict[tuple[str, str], str] = {}
_VIEW_ADVICE = (
    "views (views.py, *_views.py, tandem/web/) do not query or write the ORM session "
    "themselves; call (or add) a named service function, e.g. "
    "tandem.workspaces.service.get_workspace(session, workspace_id)"
)


def is_view_module(path: str) -> bool:
    """Return whether a module is a view: views.py, *_views.py, or anything in tandem/web/."""
    name = path.rsplit("/", 1)[-1]
    return name == "views.py" or name.endswith("_views.py") or path.startswith("src/tandem/web/")


def _is_session(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and (node.id in ("db", "session") or "session" in node.id)


def view_queries(source: str, path: str) -> list[Violation]:
    """Find database access in view modules: SQL statements and session queries/writes."""
    if not is_view_module(path):
        return []
    module = _Module(source)
    sqlalchemy_names = module.imported_from("sqlalchemy")
    found: list[Violation] = []
    for node in module.nodes():
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in STATEMENTS and func.id in sqlalchemy_names:
            what = f"builds a `{func.id}(...)` statement"
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in STATEMENTS
            and _root_name(func) in sqlalchemy_names
        ):
            what = f"builds a `{ast.unparse(func)}(...)` statement"
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in SESSION_METHODS
            and _is_session(func.value)
        ):
            what = f"calls `{ast.unparse(func)}(...)`"
        else:
            continue
        found.append(module.violation(path, node, f"{what}; {_VIEW_ADVICE}"))
    return found


# --- d. settings come from the injected object ---------------------------------------------------

# Where the process-wide settings may be read: the composition roots.
SETTINGS_ROOTS = (
    "src/tandem/config.py",  # defines get_settings
    "src/tandem/app.py",  # create_app(settings=None) falls back to it
    "src/tandem/cli/",  # each command is an entry point (it also starts `tandem serve`)
)
_SETTINGS_ADVICE = (
    "read settings from the injected object: SettingsDep in a route, "
    "request.app.state.settings, or a parameter passed down from the composition root; only "
    "app.py and the CLI call get_settings()"
)


def global_settings(source: str, path: str) -> list[Violation]:
    """Find reads of the global settings (`get_settings`, a fresh `Settings()`) outside roots."""
    if path.startswith(SETTINGS_ROOTS):
        return []
    module = _Module(source)
    config_names = module.imported_from("tandem.config")
    found: list[Violation] = []
    for node in module.nodes():
        if isinstance(node, ast.Name) and node.id == "get_settings":
            what = "uses get_settings"
        elif isinstance(node, ast.Attribute) and node.attr == "get_settings":
            what = f"uses {ast.unparse(node)}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Settings"
            and "Settings" in config_names
        ):
            what = "builds Settings() from the environment"
        else:
            continue
        found.append(module.violation(path, node, f"{what}; {_SETTINGS_ADVICE}"))
    return found


# --- workspace settings are read through their typed model -------------------------------------

WORKSPACE_SETTINGS_OWNERS = (
    "src/tandem/workspaces/settings.py",
    "src/tandem/workspaces/service.py",
)
_WORKSPACE_SETTINGS_ADVICE = (
    "read a workspace's settings with tandem.workspaces.settings.workspace_settings(workspace) "
    "(typed, with the defaults) and change them with workspaces.service.update_settings "
    "(validated)"
)


def workspace_settings_json(source: str, path: str) -> list[Violation]:
    """Find reads or writes of the raw `Workspace.settings` JSON outside its owners.

    `x.settings` is the workspace's JSON column unless `x` is an app's `state` (the injected
    process settings, which `global_settings` covers).
    """
    if path in WORKSPACE_SETTINGS_OWNERS:
        return []
    module = _Module(source)
    found: list[Violation] = []
    for node in module.nodes():
        if not isinstance(node, ast.Attribute) or node.attr != "settings":
            continue
        owner = node.value
        if isinstance(owner, ast.Attribute) and owner.attr == "state":
            continue
        what = f"uses {ast.unparse(node)} (the raw JSON)"
        found.append(module.violation(path, node, f"{what}; {_WORKSPACE_SETTINGS_ADVICE}"))
    return found


# --- jobs and timers are registered in one place ------------------------------------------------

REGISTRY = "src/tandem/jobs/registry.py"
REGISTER_FUNCTIONS = frozenset({"register", "register_long_running", "register_periodic"})
# Pending issue 8: the lead removes `@register("conversation_resolved")` (and its import);
# tandem.jobs.registry already registers the handler.
REGISTRATION_PENDING_LEAD: set[tuple[str, str]] = set()
_REGISTRY_ADVICE = (
    "job handlers and periodic tasks are registered only in "
    "tandem.jobs.registry.register_all (used by the app and every worker); define a plain "
    "function and add one line there"
)


def job_registrations(source: str, path: str) -> list[Violation]:
    """Find job/timer registration (decorators included) outside tandem.jobs.registry."""
    if path == REGISTRY or path.startswith("src/tandem/jobs/"):
        return []  # the registry, and the functions it calls
    module = _Module(source)
    jobs_names = module.imported_from("tandem.jobs")
    found: list[Violation] = []
    for node in module.nodes():
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in REGISTER_FUNCTIONS and _root_name(func) in jobs_names:
            found.append(
                module.violation(path, node, f"registers with `{name}`; {_REGISTRY_ADVICE}")
            )
    return found


def enqueued_kinds(source: str, path: str) -> tuple[set[str], list[Violation]]:
    """Return the job kinds a module enqueues, and the `enqueue` calls whose kind is unclear.

    A kind is a string literal or a module-level string constant of the module that calls
    `enqueue(kind=...)`.
    """
    module = _Module(source)
    constants = {
        target.id: node.value.value
        for node in module.tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    kinds: set[str] = set()
    unclear: list[Violation] = []
    for node in module.nodes():
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) != "enqueue":
            continue
        kind = next((k.value for k in node.keywords if k.arg == "kind"), None)
        if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
            kinds.add(kind.value)
        elif isinstance(kind, ast.Name) and kind.id in constants:
            kinds.add(constants[kind.id])
        elif path != "src/tandem/jobs/service.py":  # enqueue's own definition passes `kind`
            unclear.append(
                module.violation(
                    path,
                    node,
                    "enqueue(kind=...) must be a string literal or a module-level constant, so "
                    "tests can check that a handler is registered for it",
                )
            )
    return kinds, unclear


def periodic_functions(source: str, path: str) -> set[str]:
    """Return `module.name` of each module-level `periodic_*` function (the timers)."""
    module_name = path.removeprefix("src/").removesuffix(".py").replace("/", ".")
    tree = ast.parse(source)
    return {
        f"{module_name}.{node.name}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("periodic_")
    }


# --- good and bad examples, read from each test's docstring ---------------------------------------

_EXAMPLE = re.compile(r"^(Good|Bad) \(`([^`]+)`\)::$")


def docstring_examples(doc: str | None) -> dict[str, tuple[str, str]]:
    """Return {"good": (path, code), "bad": (path, code)} from a test's docstring.

    An example is a line `Good (`src/tandem/x.py`)::` or `Bad (...)::` followed by an indented
    code block, so the examples a reader sees are exactly the ones the test runs.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    examples: dict[str, tuple[str, str]] = {}
    for index, line in enumerate(lines):
        match = _EXAMPLE.match(line.strip())
        if not match:
            continue
        block: list[str] = []
        for following in lines[index + 1 :]:
            if following.strip() and not following.startswith("    "):
                break
            block.append(following)
        code = textwrap.dedent("\n".join(block)).strip("\n") + "\n"
        examples[match.group(1).lower()] = (match.group(2), code)
    assert set(examples) == {"good", "bad"}, "the docstring needs a Good and a Bad example"
    return examples
