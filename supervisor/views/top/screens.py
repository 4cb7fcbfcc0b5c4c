"""The screens ``top`` opens over its main view: a unit's detail, its log (following), what
breaks if it stops (``supervisor explain``'s answer), and the question before a stop or restart."""

from rich.console import Group
from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, RichLog, Static

from supervisor.status import CapabilityStatus, OutputLine, UnitStatus
from supervisor.views.status import duration, output_text, styled
from supervisor.views.top.connection import Refused, request, watch

LOG_BACKLOG = 500
"""Lines a log view asks for first (the supervisor keeps up to LINES_KEPT) and keeps on screen."""

UNIT_KEYS = [
    Binding("s", "app.start", "start"),
    Binding("x", "app.stop", "stop"),
    Binding("r", "app.restart", "restart"),
    Binding("l", "app.log", "log"),
    Binding("e", "app.explain", "what breaks"),
]


def _capabilities(names: tuple[str, ...], capabilities: dict[str, CapabilityStatus]) -> Text:
    text = Text()
    for index, name in enumerate(names):
        text.append(", " if index else "")
        if name in capabilities:
            capability = capabilities[name]
            text.append(name + " ")
            text.append_text(styled(capability.state))
            if capability.provider:
                text.append(f" ({capability.provider})", style="dim")
        else:
            text.append(f"{name} (no provider on)", style="red")
    return text or Text("nothing", style="dim")


def unit_detail(unit: UnitStatus, capabilities: dict[str, CapabilityStatus], now: float) -> Group:
    head = Text(unit.unit, style="bold")
    head.append(" ")
    head.append_text(styled(unit.state))
    head.append(f" for {duration(max(0.0, now - unit.since))}", style="dim")
    facts = [
        f"kind {unit.kind}"
        + (f", pid {unit.pid}, up {duration(unit.uptime(now))}" if unit.pid else ", no process")
        + f", {unit.restarts} restarts"
        + (f", last {unit.last_exit.describe()}" if unit.last_exit else ""),
    ]
    if unit.status:
        facts.append(f"says: {unit.status}")
    reason = Text("reason: ", style="bold")
    reason.append(unit.reason or "-")
    return Group(
        head,
        *(Text(fact) for fact in facts),
        reason,
        Text("provides: ", style="bold") + _capabilities(unit.provides, capabilities),
        Text("requires: ", style="bold") + _capabilities(unit.requires, capabilities),
    )


class DetailScreen(Screen):
    """One unit: all the status says of it and the last lines it wrote; live while open."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "back"), *UNIT_KEYS]

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="detail")
            yield Static(Text("last lines:", style="bold"))
            yield Static(id="lines")
        yield Footer()

    def on_mount(self) -> None:
        self.app.show_detail(self)
        self.load_lines()

    def show(self, detail: Group) -> None:
        self.query_one("#detail", Static).update(detail)

    @work(exclusive=True)
    async def load_lines(self) -> None:
        try:
            answer = await request(self.app.path, {"command": "logs", "target": self.unit, "lines": 20})
        except (OSError, Refused) as error:
            self.query_one("#lines", Static).update(Text(f"cannot read them: {error}", style="red"))
            return
        lines = [output_text(OutputLine.from_json(line), unit=False) for line in answer["lines"]]
        self.query_one("#lines", Static).update(Group(*lines) if lines else Text("none kept", style="dim"))


class LogScreen(Screen):
    """A unit's output, the last lines the supervisor kept and then each new one as it comes."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "back")]

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def compose(self) -> ComposeResult:
        yield Label(f"log of {escape(self.unit)}, following (escape: back)", id="title")
        yield RichLog(max_lines=LOG_BACKLOG, id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.follow()

    @work(exclusive=True)
    async def follow(self) -> None:
        log = self.query_one(RichLog)
        try:
            options = {"status": False, "events": False, "output": self.unit, "lines": LOG_BACKLOG}
            async for update in watch(self.app.path, **options):
                if isinstance(update, OutputLine):
                    log.write(output_text(update, unit=update.unit != self.unit))
                else:
                    log.write(Text(f"... {update.count} lines lost: top did not keep up", style="yellow"))
        except (OSError, ValueError, Refused) as error:
            log.write(Text(f"stopped following: {error}", style="red"))


class ExplainScreen(Screen):
    """What breaks if a service stops: ``supervisor explain``'s answer for the running profile."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "back")]

    def __init__(self, renderable) -> None:
        super().__init__()
        self.renderable = renderable

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.renderable)
        yield Footer()


class ConfirmScreen(ModalScreen[bool]):
    """y or n before a stop or restart."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; height: auto; border: thick $warning; padding: 1 2; background: $surface; }
    ConfirmScreen Label { width: 100%; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Label("[b]y[/] yes   [b]n[/] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
