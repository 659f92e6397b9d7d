r"""Training presets: the notes' training claims as runs, one file each in ``assets/training``.

A file ``NN_name.json``::

    {
      "name": "airline-lstm",
      "title": "…",
      "explanation": "…, the claim stated word for word …",
      "config": {...TrainConfig settings...},             # the run the lab opens
      "compare": {"label": {...changed settings...}},      # optional further runs
      "slow": false,                                       # the claim needs long training
      "claim": [{"run": "main", "quantity": "test_rmse", "below_run": "main",
                 "below_quantity": "baseline:persistence:test_rmse", "statement": "…"}, ...]
    }

A claim condition names a run (``main`` or a ``compare`` label), a quantity of it (see
:data:`QUANTITIES`) and ``below`` / ``above`` a number, or ``below_run`` / ``above_run`` another
run (with ``below_quantity`` / ``above_quantity``, default the same quantity). Every statement
appears word for word in the explanation.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .assets import asset
from .errors import GradvizError
from .i18n import _
from .presets import claim_statement, localized
from .training import TrainConfig, TrainResult, train

TRAINING_DIR = asset("training")

#: quantity -> what it is
QUANTITIES = {
    "final_test_loss": "test loss of the final weights",
    "final_train_loss": "training loss of the final weights (last batch for adding/copy)",
    "test_rmse": "forecast RMSE on the test part, original units",
    "train_rmse": "fit RMSE on the training part, original units",
    "max_loss": "largest training loss of the run",
    "max_grad_norm": "largest gradient norm before clipping",
    "stopped_nonfinite": "1 if the run stopped on a non-finite loss, else 0",
    "first_test_below": "first iteration whose test loss is below 'threshold' (iterations + 1 if never)",
}


@dataclass
class TrainingPreset:
    name: str
    title: str
    explanation: str
    config: TrainConfig
    compare: dict = field(default_factory=dict)    # label -> TrainConfig
    claim: list = field(default_factory=list)
    slow: bool = False
    title_zh: str | None = None
    explanation_zh: str | None = None

    def title_text(self) -> str:
        """The title in the current language (``title_zh`` in Chinese when the file has one)."""
        return localized(self.title, self.title_zh)

    def explanation_text(self) -> str:
        return localized(self.explanation, self.explanation_zh)

    def runs(self) -> dict:
        return {"main": self.config, **self.compare}


def preset_from_dict(data, source: str = "training preset") -> TrainingPreset:
    if not isinstance(data, dict):
        raise GradvizError(_("{source}: expected an object").format(source=source))
    extra = sorted(set(data) - {"name", "title", "explanation", "config", "compare", "claim",
                                "slow", "title_zh", "explanation_zh"})
    if extra:
        raise GradvizError(_("{source}: unknown key {key!r}").format(source=source, key=extra[0]))
    for key in ("name", "title", "explanation", "title_zh", "explanation_zh"):
        if key not in data and key.endswith("_zh"):
            continue
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise GradvizError(_("{source}: {key} must be text").format(source=source, key=key))
    config = TrainConfig.from_dict(data.get("config", {}), source=f"{source}: config")
    compare = {}
    raw = data.get("compare", {})
    if not isinstance(raw, dict):
        raise GradvizError(_("{source}: compare must map labels to settings").format(source=source))
    for label, changes in raw.items():
        if label == "main" or not isinstance(changes, dict):
            raise GradvizError(_("{source}: compare {label!r} must be an object of settings")
                               .format(source=source, label=label))
        compare[label] = TrainConfig.from_dict({**config.to_dict(), **changes},
                                               source=f"{source}: compare {label}")
    claim = data.get("claim", [])
    claim = [claim] if isinstance(claim, dict) else claim
    if not isinstance(claim, list):
        raise GradvizError(_("{source}: claim must be a list of conditions").format(source=source))
    runs = {"main", *compare}
    for cond in claim:
        _check_condition(cond, runs, source)
    return TrainingPreset(name=data["name"], title=data["title"], explanation=data["explanation"],
                          config=config, compare=compare, claim=claim,
                          slow=bool(data.get("slow", False)), title_zh=data.get("title_zh"),
                          explanation_zh=data.get("explanation_zh"))


def _check_condition(cond, runs, source) -> None:
    if not isinstance(cond, dict):
        raise GradvizError(_("{source}: each claim must be an object").format(source=source))
    allowed = {"run", "quantity", "below", "above", "below_run", "above_run", "below_quantity",
               "above_quantity", "threshold", "statement", "statement_zh"}
    extra = sorted(set(cond) - allowed)
    if extra:
        raise GradvizError(_("{source}: claim has unknown key {key!r}")
                           .format(source=source, key=extra[0]))
    for key in ("run", "below_run", "above_run"):
        if key in cond and cond[key] not in runs:
            raise GradvizError(_("{source}: claim names run {run!r}; the runs are {runs}")
                               .format(source=source, run=cond[key], runs=", ".join(sorted(runs))))
    for key in ("quantity", "below_quantity", "above_quantity"):
        if key in cond:
            _quantity_ok(cond[key], source)
    if "quantity" not in cond or "run" not in cond:
        raise GradvizError(_("{source}: a claim needs 'run' and 'quantity'").format(source=source))
    if not any(k in cond for k in ("below", "above", "below_run", "above_run")):
        raise GradvizError(_("{source}: a claim needs 'below' or 'above' (a number or a run)")
                           .format(source=source))
    if not isinstance(cond.get("statement"), str):
        raise GradvizError(_("{source}: claim statement must be text").format(source=source))


def _quantity_ok(q, source) -> None:
    if isinstance(q, str) and q.startswith("baseline:"):
        parts = q.split(":")
        if len(parts) == 3 and parts[2] in ("test_rmse", "train_rmse", "test_mae", "train_mae"):
            return
    if q not in QUANTITIES:
        raise GradvizError(_("{source}: unknown claim quantity {q!r}").format(source=source, q=q))


def preset_files() -> list[Path]:
    return sorted(TRAINING_DIR.glob("[0-9][0-9]_*.json"))


def _read(path: Path) -> TrainingPreset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradvizError(_("{path}: not a readable training preset ({why})")
                           .format(path=path, why=type(exc).__name__)) from None
    return preset_from_dict(data, source=path.name)


def list_training_presets() -> list[TrainingPreset]:
    return [_read(p) for p in preset_files()]


def load_training_preset(name: str) -> TrainingPreset:
    for p in preset_files():
        if p.stem == name or p.stem.split("_", 1)[1] == name:
            return _read(p)
    names = ", ".join(p.stem.split("_", 1)[1] for p in preset_files())
    raise GradvizError(_("no training preset {name!r}; the presets are {names}")
                       .format(name=name, names=names))


# ---------------------------------------------------------------- checking claims

def quantity(result: TrainResult, q: str, threshold: float | None = None) -> float:
    """The value of a claim quantity on a finished run."""
    h = result.history
    if q.startswith("baseline:"):
        _baseline, name, metric = q.split(":")
        return float(getattr(result.baselines[name], metric))
    if q == "final_test_loss":
        return _num(result.final_test_loss)
    if q == "final_train_loss":
        return _num(result.final_loss)
    if q in ("test_rmse", "train_rmse"):
        return float(getattr(result.metrics, q)) if result.metrics else math.inf
    if q == "max_loss":
        return max(h.loss) if h.loss else math.inf
    if q == "max_grad_norm":
        return max(h.grad_norm) if h.grad_norm else 0.0
    if q == "stopped_nonfinite":
        return 1.0 if result.stopped_nonfinite is not None else 0.0
    if q == "first_test_below":
        for it, v in zip(h.test_iteration, h.test_loss):
            if v < threshold:
                return float(it)
        return float(result.config.iters + 1)
    raise GradvizError(_("unknown claim quantity {q!r}").format(q=q))


def _num(v) -> float:
    return float(v) if v is not None else math.inf


def check_claim(preset: TrainingPreset, results: dict | None = None):
    """Train every run the claim needs (or take ``results``: label -> TrainResult) and check
    each condition. Returns (all hold, [(statement, value, bound, holds)], results)."""
    results = dict(results or {})
    needed: set[str] = set()
    for cond in preset.claim:
        needed.update(cond[k] for k in ("run", "below_run", "above_run") if k in cond)
    runs = preset.runs()
    for label in sorted(needed):
        if label not in results:
            results[label] = train(runs[label])
    rows = []
    for cond in preset.claim:
        thr = cond.get("threshold")
        value = quantity(results[cond["run"]], cond["quantity"], thr)
        ok = True
        bounds = []
        for side in ("below", "above"):
            if side in cond:
                bound = float(cond[side])
            elif f"{side}_run" in cond:
                bound = quantity(results[cond[f"{side}_run"]],
                                 cond.get(f"{side}_quantity", cond["quantity"]), thr)
            else:
                continue
            bounds.append(bound)
            ok &= value < bound if side == "below" else value > bound
        rows.append((claim_statement(cond), value, bounds, bool(ok)))
    return all(r[3] for r in rows), rows, results
