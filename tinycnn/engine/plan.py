"""A plan: how an engine runs a model's layers for a batch size, one row per step.

plan = model.plan(batch_size=128)
print(plan)            # the table
for row in plan:       # row.layers, row.how, row.fused; row.step runs it (forward/backward)
    ...
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedStep:
    """One row: the engine step, the model's layers it covers (in order) and how it runs them."""

    step: object
    layers: tuple
    how: str

    @property
    def fused(self):
        return len(self.layers) > 1

    @property
    def layer_names(self):
        return " -> ".join(layer.name for layer in self.layers)


class Plan:
    """The steps an engine runs for batches of `batch_size` images (a sequence of PlannedStep)."""

    def __init__(self, engine, batch_size, rows, workers):
        self.engine, self.batch_size, self.rows, self.workers = engine, batch_size, list(rows), workers

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def table(self):
        """The plan as text: a header line, then one row per step."""
        workers = (
            f", {self.workers} chunk worker{'s' if self.workers != 1 else ''}"
            if self.engine == "fast"
            else ""
        )
        header = f'Plan for batches of {self.batch_size} (engine "{self.engine}"{workers})'
        names = [row.layer_names for row in self.rows]
        width = max([len("layers"), *map(len, names)]) + 2
        lines = [header, f"{'step':<6}{'layers':<{width}}how it runs"]
        for number, (row, name) in enumerate(zip(self.rows, names, strict=True), start=1):
            lines.append(f"{number:<6}{name:<{width}}{row.how}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return self.table()
