"""The unit table: fixed columns, a cursor, and rows that are drawn once and kept.

Textual's DataTable redraws every visible row whenever any one cell changes (its render caches
are keyed by a table-wide update count); with two hundred units and a change a second that
was most of ``top``'s CPU. Here each row is drawn into a Strip when its cells change and kept,
so a change costs one row: the rest of the screen is copied from the cache.
"""

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


class RowTable(ScrollView, can_focus=True):
    """Rows by key, each a list of cells under fixed-width columns (the last takes what is
    left); a header line that stays put; a cursor moved by keys or a click, Enter selects."""

    BINDINGS = [
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "move(-1000000)", show=False),
        Binding("end", "move(1000000)", show=False),
        Binding("enter", "select", show=False),
    ]
    COMPONENT_CLASSES = {"row-table--header", "row-table--cursor"}
    DEFAULT_CSS = """
    RowTable { background: $surface; }
    RowTable > .row-table--header { text-style: bold; background: $panel; }
    RowTable > .row-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    """
    cursor: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        """Enter (or a double click) on the row of ``key``."""

        def __init__(self, table: "RowTable", key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> "RowTable":
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns: list[tuple[str, int]] = []
        self.keys: list[str] = []
        self._cells: dict[str, list[Cell]] = {}
        self._strips: dict[str, Strip] = {}

    # -- content ---------------------------------------------------------------------------

    def set_columns(self, columns: list[tuple[str, int]]) -> None:
        """Column labels and widths; the last column gets whatever width is left."""
        self.columns = columns
        self._strips.clear()
        self.refresh()

    def set_rows(self, rows: list[tuple[str, list[Cell]]]) -> None:
        """Every row at once, in order; the cursor stays on its row when that row remains."""
        current = self.cursor_key
        self.keys = [key for key, _ in rows]
        self._cells = dict(rows)
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)
        self.cursor = (
            self.keys.index(current) if current in self._cells else min(self.cursor, len(self.keys) - 1)
        )
        self.refresh()

    def update_row(self, key: str, cells: list[Cell]) -> None:
        """New cells for one row: only that row is drawn again."""
        if self._cells.get(key) == cells:
            return
        self._cells[key] = cells
        self._strips.pop(key, None)
        self.refresh_line(self.keys.index(key) + 1)

    def cell(self, key: str, column: str) -> str:
        """The text of one cell, by its column's label."""
        labels = [label for label, _ in self.columns]
        return str(self._cells[key][labels.index(column)])

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor] if 0 <= self.cursor < len(self.keys) else None

    def move_to(self, key: str) -> None:
        self.cursor = self.keys.index(key)

    def visible_keys(self) -> list[str]:
        top = self.scroll_offset.y
        return self.keys[top : top + max(0, self.size.height - 1)]

    # -- drawing ---------------------------------------------------------------------------

    def _widths(self) -> list[int]:
        fixed = sum(width + 1 for _, width in self.columns[:-1]) + 1
        return [width for _, width in self.columns[:-1]] + [max(1, self.size.width - fixed - 1)]

    def _strip(self, cells: list[Cell], style: Style) -> Strip:
        line = Text(" ", style=style, no_wrap=True, end="")
        for cell, width in zip(cells, self._widths(), strict=False):
            text = cell.copy() if isinstance(cell, Text) else Text(cell)
            text.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(text)
            line.append(" ")
        return Strip(list(line.render(self.app.console))).crop_extend(0, self.size.width, style)

    def render_line(self, y: int) -> Strip:
        if y == 0:
            header = self.get_component_rich_style("row-table--header")
            return self._strip([label for label, _ in self.columns], header)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.keys):
            return Strip.blank(self.size.width, self.rich_style)
        key = self.keys[index]
        if index == self.cursor and self.has_focus:
            return self._strip(self._cells[key], self.get_component_rich_style("row-table--cursor"))
        if key not in self._strips:
            self._strips[key] = self._strip(self._cells[key], self.rich_style)
        return self._strips[key]

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- the cursor ------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.keys:
            self.refresh_line(old + 1)
            self.refresh_line(new + 1)
            rows = max(1, self.size.height - 1)
            top = self.scroll_offset.y
            if new < top:
                self.scroll_to(y=new, animate=False)
            elif new >= top + rows:
                self.scroll_to(y=new - rows + 1, animate=False)

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, len(self.keys) - 1))

    def action_move(self, rows: int) -> None:
        self.cursor += rows

    def action_page(self, pages: int) -> None:
        self.cursor += pages * max(1, self.size.height - 2)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self, self.cursor_key))

    def on_click(self, event: Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.keys):
            if index == self.cursor and event.chain > 1:
                self.action_select()
            self.cursor = index
