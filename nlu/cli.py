"""``xiangzhu nlu ...``: parse, train, evaluate, evaluate knowledge search, export to Rasa."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

__all__ = ["nlu_group"]



@click.group("nlu")
def nlu_group() -> None:
    """理解村民的话 / natural-language understanding."""


@nlu_group.command("parse")
@click.argument("text")
@click.option("--now", "now", default=None, help="reference time, ISO 8601 (default: now, Asia/Shanghai)")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def parse_command(text: str, now: str | None, cache_dir: Path | None) -> None:
    """Parse TEXT and print the ParseResult JSON."""
    from nlu.parser import NLU

    reference = None
    if now:
        try:
            reference = datetime.fromisoformat(now)
        except ValueError as exc:
            raise click.BadParameter(f"'{now}' is not an ISO 8601 time (e.g. 2026-03-02T10:00)", param_hint="--now") from exc
    result = NLU.load(cache_dir).parse(text, now=reference)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


@nlu_group.command("train")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--algorithm", type=click.Choice(["logreg", "lbfgs", "sgd", "svm"]), default="logreg", show_default=True)
def train_command(cache_dir: Path | None, algorithm: str) -> None:
    """Train the intent model from nlu/data and store it in the cache."""
    from nlu.parser import NLU

    nlu = NLU.load(cache_dir, algorithm=algorithm, retrain=True)
    t = nlu.trained
    click.echo(f"trained {algorithm} on {len(nlu.data.examples)} examples in {t.train_seconds:.2f} s → {t.path}")


@nlu_group.command("eval")
@click.argument("file", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--by-style", "by_style", is_flag=True,
              help="evaluate each file of the set's styles/ folder (or of FILE, a directory) and print one row per style")
@click.option("--needs", "needs", is_flag=True, help="evaluate the set's needs_indirect.yml (need category recall)")
@click.option("--set", "held_out_set", default=None, metavar="NAME",
              help="a held-out set: a sub-folder of nlu/data/test (e.g. blind2) with styles/ and needs_indirect.yml; "
                   "default: nlu/data/test itself")
@click.option("--now", "now", default=None, help="reference time for dates, ISO 8601")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--algorithm", type=click.Choice(["logreg", "lbfgs", "sgd", "svm"]), default="logreg", show_default=True)
def eval_command(file: Path | None, as_json: bool, by_style: bool, needs: bool, held_out_set: str | None,
                 now: str | None, cache_dir: Path | None, algorithm: str) -> None:
    """Evaluate on FILE (Rasa NLU YAML file or directory): intents, entities, emergencies."""
    from nlu.evaluation import evaluate, format_report
    from nlu.parser import NLU
    from nlu.training_data import load_training_data

    root = _held_out_root(held_out_set)
    if needs and by_style:
        raise click.UsageError("give --by-style or --needs, not both")
    if needs:
        if file is not None:
            raise click.UsageError("--needs evaluates the set's needs_indirect.yml; give no FILE")
        file = root / "needs_indirect.yml"
        if not file.is_file():
            raise click.ClickException(f"{file} does not exist")
    if file is None and not by_style:
        raise click.UsageError("give a FILE, or --by-style, or --needs")
    nlu = NLU.load(cache_dir, algorithm=algorithm)
    if by_style:
        _eval_by_style(nlu, file or root / "styles", as_json, datetime.fromisoformat(now) if now else None)
        return
    data = load_training_data(file, synonyms_from=nlu.data)
    if not data.examples:
        raise click.ClickException(f"{file} holds no intent examples")
    report = evaluate(nlu.parse, data.examples, now=datetime.fromisoformat(now) if now else None)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report))


STYLE_COLUMNS = (("intent_accuracy", "accuracy"), ("intent_macro_f1", "macro-F1"), ("emergency_recall", "emerg. recall"),
                 ("emergency_false_positive_rate", "false alarms"), ("safety_question_rate", "safety asks"),
                 ("need_category_recall", "need recall"))


def _held_out_root(name: str | None) -> Path:
    """The folder of a held-out set: nlu/data/test, or its sub-folder NAME (blind2, …)."""
    from nlu.training_data import TEST_DIR

    if name is None:
        return TEST_DIR
    def is_set(folder: Path) -> bool:
        return (folder / "styles").is_dir() or (folder / "needs_indirect.yml").is_file()

    root = TEST_DIR / name
    if "/" in name or "\\" in name or name.startswith(".") or not is_set(root):
        sets = sorted(p.name for p in TEST_DIR.iterdir() if p.is_dir() and is_set(p))
        raise click.BadParameter(f"no held-out set '{name}' in {TEST_DIR} (sets: {', '.join(sets) or 'none'})",
                                 param_hint="--set")
    return root


def _eval_by_style(nlu, directory: Path, as_json: bool, now: datetime | None) -> None:
    """One evaluation per file of a style challenge set, as a table (or one JSON object by style)."""
    from nlu.evaluation import evaluate
    from nlu.training_data import load_training_data

    if not directory.is_dir():
        raise click.BadParameter(f"{directory} is not a directory", param_hint="FILE")
    reports = {}
    for path in sorted(directory.glob("*.yml")):
        data = load_training_data(path, synonyms_from=nlu.data)
        if data.examples:
            reports[path.stem] = evaluate(nlu.parse, data.examples, now=now)
    if not reports:
        raise click.ClickException(f"{directory} holds no style files")
    if as_json:
        keys = ("n", *(k for k, _ in STYLE_COLUMNS), "need_category_offered_recall", "leave_questions", "entities", "confused_pairs",
                "errors")
        click.echo(json.dumps({style: {k: r[k] for k in keys} for style, r in reports.items()},
                              ensure_ascii=False, indent=2))
        return
    header = f"{'style':<14} {'n':>4} " + " ".join(f"{title:>13}" for _, title in STYLE_COLUMNS)
    lines = [header]
    for style, r in reports.items():
        cells = " ".join(f"{'—' if r[k] is None else format(r[k], '.3f'):>13}" for k, _ in STYLE_COLUMNS)
        lines.append(f"{style:<14} {r['n']:>4} {cells}")
    click.echo("\n".join(lines))


@nlu_group.command("eval-kb")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--policies", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="policy YAML (default: storage/demo_data/policies.yaml)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object with top1, top3, n")
def eval_kb_command(file: Path, policies: Path | None, as_json: bool) -> None:
    """Evaluate policy knowledge search on FILE, a YAML list of {question, policy}."""
    from nlu.kb_eval import DEFAULT_POLICIES, evaluate_kb, index_from_file, load_kb_questions

    source = policies or DEFAULT_POLICIES
    if not source.exists():
        raise click.ClickException(f"No policy file at {source}; pass one with --policies PATH")
    report = evaluate_kb(index_from_file(source), load_kb_questions(file))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"questions {report['n']}\ntop-1     {report['top1']:.4f}\ntop-3     {report['top3']:.4f}")
    for miss in report["misses"][:20]:
        click.echo(f"  {miss['question']}: expected {miss['expected']}, got {miss['got']}")


@nlu_group.command("export-rasa")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_rasa_command(directory: Path) -> None:
    """Write a Rasa project (config.yml, domain.yml, data/) for `rasa train nlu`."""
    from nlu.export_rasa import export_rasa_project

    written = export_rasa_project(directory)
    click.echo(f"wrote {len(written)} files to {directory}; train with: rasa train nlu --config config.yml --nlu data")


if __name__ == "__main__":  # pragma: no cover
    nlu_group(sys.argv[1:])
