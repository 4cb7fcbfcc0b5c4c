"""``supervisor top``: the operator's live view of a running graph, a Textual app.

``app`` lays it out and applies the supervisor's updates; ``connection`` speaks the control
protocol over asyncio (Textual's loop) and keeps a watch open; ``screens`` are the unit's detail,
its log, what breaks if it stops, and the confirmation of a stop; ``graph`` draws the graph as a
tree; ``usage`` samples CPU and memory of the units' processes. Loaded only by ``supervisor top``.
"""
