"""``sync_file``: run a JSON, NDJSON or CSV file through the sync service, batch by batch.

Before anything is written the whole file is checked and its items counted, so a malformed file
writes nothing and the progress bar knows its total: a JSON file is one document, parsed whole;
NDJSON and CSV files are read twice, streaming, one line at a time. Then batches of
``--batch-size`` items go to ``sync.services.sync_items``, the engine of the HTTP endpoints, each
batch in its own transaction with its own SyncRun.
"""

from __future__ import annotations

import csv
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ractory.api import serializers as strict
from ractory.api.parsers import HugeInteger
from ractory.refusals import FieldError, Refusal
from sync.entities import MES_ENTITIES, SYNC_ENTITIES, SyncEntity
from sync.refusals import ItemsRefused
from sync.runner import SyncRequest, run_sync
from sync.runs import request_hash
from sync.work import ERROR, INSERTED, UNCHANGED, UPDATED
from tenants.caller import Caller
from tenants.management.commands._arguments import company_by_guid
from tenants.roles import Role

# Ractory and MES entities: one engine, so one command (their plurals do not overlap).
ENTITIES: dict[str, SyncEntity] = {**SYNC_ENTITIES, **MES_ENTITIES}
FORMATS = ("json", "ndjson", "csv")
EXTENSIONS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
ENDPOINT = "sync_file"
DEFAULT_BATCH_SIZE = 1000
BAR_WIDTH = 30


def _int_or_huge(text: str) -> int | HugeInteger:
    # As the API's parser: an integer too long for Python is a value error of its item, not a
    # malformed file.
    return HugeInteger(text) if len(text) > 4000 else int(text)


_DECODER = json.JSONDecoder(parse_int=_int_or_huge)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass
class Row:
    line: int  # physical line of the file where the item starts, from 1
    index: int  # position of the item in the file, from 0
    item: object


# --- Reading the formats -----------------------------------------------------------------------


class ItemFile:
    """One input file: ``check()`` reads it all once (raising ``CommandError`` if it is
    malformed) and returns the number of items; ``rows()`` then yields them."""

    def __init__(self, path: Path, entity: SyncEntity) -> None:
        self.path = path
        self.entity = entity

    def check(self) -> int:
        raise NotImplementedError

    def rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def pointer(self, index: int, rest: str) -> str:
        """Where an item error is in the file; ``rest`` is the pointer inside the item."""
        return rest

    def malformed(self, line: int | None, message: str) -> CommandError:
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        return CommandError(f"{where}: {message}")

    def open(self, **kwargs):
        # utf-8-sig: a byte-order mark (spreadsheets write one) is not part of the first item.
        return self.path.open(encoding="utf-8-sig", **kwargs)


class JsonFile(ItemFile):
    """A JSON array of items, or ``{"<entity>": [...]}``. Loaded whole (it is one document);
    each item's line is found while the document is parsed."""

    wrapped = False
    _rows: list[Row]

    def pointer(self, index: int, rest: str) -> str:
        return f"/{self.entity.plural}/{index}{rest}" if self.wrapped else f"/{index}{rest}"

    def check(self) -> int:
        with self.open() as file:
            text = file.read()
        self._text, self._line, self._line_at = text, 1, 0
        try:
            self._rows = self._document()
        except json.JSONDecodeError as error:
            raise self.malformed(
                error.lineno, f"not valid JSON at column {error.colno}: {_decode_message(error)}."
            ) from None
        except RecursionError:
            raise self.malformed(None, "not valid JSON: nested too deeply.") from None
        finally:
            del self._text
        return len(self._rows)

    def rows(self) -> Iterator[Row]:
        rows, self._rows = self._rows, []
        yield from rows

    def _skip(self, position: int) -> int:
        return _WHITESPACE.match(self._text, position).end()

    def _line_of(self, position: int) -> int:
        # Positions only move forward, so counting from the last one keeps this linear.
        self._line += self._text.count("\n", self._line_at, position)
        self._line_at = position
        return self._line

    def _fail(self, position: int, message: str) -> CommandError:
        text = self._text
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        return self.malformed(line, f"not valid JSON at column {column}: {message}.")

    def _document(self) -> list[Row]:
        text, plural = self._text, self.entity.plural
        position = self._skip(0)
        start = text[position : position + 1]
        if start == "[":
            rows, position = self._array(position)
        elif start == "{":
            self.wrapped = True
            rows, position = self._wrapper(position)
        elif not start:
            raise self.malformed(None, f'the file is empty; expected a JSON array or {{"{plural}": [...]}}.')
        else:
            _DECODER.raw_decode(text, position)  # a syntax error is reported as such
            raise self.malformed(
                self._line_of(position), f'the document must be a JSON array or {{"{plural}": [...]}}.'
            )
        position = self._skip(position)
        if position != len(text):
            raise self._fail(position, "extra data after the document")
        return rows

    def _wrapper(self, position: int) -> tuple[list[Row], int]:
        text, plural = self._text, self.entity.plural
        rows = None
        position = self._skip(position + 1)
        if text[position : position + 1] == "}":
            position += 1
        else:
            while True:
                if text[position : position + 1] != '"':
                    raise self._fail(position, "expected a key in double quotes")
                key_position = position
                key, position = _DECODER.raw_decode(text, position)
                position = self._skip(position)
                if text[position : position + 1] != ":":
                    raise self._fail(position, "expected ':'")
                position = self._skip(position + 1)
                if key != plural:
                    _DECODER.raw_decode(text, position)  # a syntax error inside is reported first
                    raise self.malformed(
                        self._line_of(key_position), f'unknown top-level key {key!r}; expected {{"{plural}": [...]}}.'
                    )
                if rows is not None:
                    raise self.malformed(self._line_of(key_position), f"the key {plural!r} appears twice.")
                if text[position : position + 1] != "[":
                    _DECODER.raw_decode(text, position)
                    raise self.malformed(self._line_of(position), f"{plural!r} must be an array of items.")
                rows, position = self._array(position)
                position = self._skip(position)
                separator = text[position : position + 1]
                position += 1
                if separator == "}":
                    break
                if separator != ",":
                    raise self._fail(position - 1, "expected ',' or '}'")
                position = self._skip(position)
        if rows is None:
            raise self.malformed(1, f'the object has no {plural!r} key; expected {{"{plural}": [...]}}.')
        return rows, position

    def _array(self, position: int) -> tuple[list[Row], int]:
        text = self._text
        rows: list[Row] = []
        position = self._skip(position + 1)
        if text[position : position + 1] == "]":
            return rows, position + 1
        while True:
            start = position
            item, position = _DECODER.raw_decode(text, position)
            rows.append(Row(self._line_of(start), len(rows), item))
            position = self._skip(position)
            separator = text[position : position + 1]
            if separator == "]":
                return rows, position + 1
            if separator != ",":
                raise self._fail(position, "expected ',' or ']'")
            position = self._skip(position + 1)


class NdjsonFile(ItemFile):
    """One JSON item per line; blank lines are skipped. Streamed: one line in memory at a time."""

    def _lines(self) -> Iterator[tuple[int, str]]:
        with self.open() as file:
            for number, line in enumerate(file, start=1):
                if line.strip():
                    yield number, line

    def _parse(self, number: int, line: str):
        try:
            return _DECODER.decode(line)
        except json.JSONDecodeError as error:
            raise self.malformed(number, f"not valid JSON at column {error.colno}: {_decode_message(error)}.") from None
        except RecursionError:
            raise self.malformed(number, "not valid JSON: nested too deeply.") from None

    def check(self) -> int:
        count = 0
        for number, line in self._lines():
            self._parse(number, line)
            count += 1
        return count

    def rows(self) -> Iterator[Row]:
        for index, (number, line) in enumerate(self._lines()):
            yield Row(number, index, self._parse(number, line))


def _converter(field) -> Callable[[str], object]:
    """How a CSV cell becomes the JSON value the field expects. A cell that does not convert is
    passed on as text, so the item gets the very error the API gives for a wrong type."""
    if isinstance(field, strict.StrictIntegerField):
        return lambda text: _int_or_huge(text) if _INTEGER.fullmatch(text) else text
    if isinstance(field, strict.StrictFloatField):
        return lambda text: float(text) if _NUMBER.fullmatch(text) else text
    if isinstance(field, strict.StrictBooleanField):
        return lambda text: {"true": True, "false": False}.get(text.lower(), text)
    return lambda text: text  # strings, UUIDs, timestamps, base64 pictures: the text itself


class CsvFile(ItemFile):
    """A header row of field names, then one item per row; an empty cell leaves the field out.
    Streamed; a row's line is the physical line it starts on (quoted cells may span lines)."""

    def __init__(self, path: Path, entity: SyncEntity) -> None:
        super().__init__(path, entity)
        fields = entity.item_serializer().fields
        self.converters = {name: _converter(field) for name, field in fields.items()}
        # A picture of MAX_PICTURE_BYTES is 4/3 as long in base64: more than csv's default limit.
        csv.field_size_limit(max(csv.field_size_limit(), settings.MAX_PICTURE_BYTES * 4 // 3 + 1024))

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        with self.open(newline="") as file:
            reader = csv.reader(file, strict=True)
            try:
                header = next(reader, None)
                if header is None:
                    raise self.malformed(None, "the file is empty; the first row must name the fields.")
                self.header = self._check_header([name.strip() for name in header])
                previous = reader.line_num
                for cells in reader:
                    start, previous = previous + 1, reader.line_num
                    if not cells:
                        continue  # a blank line
                    if len(cells) != len(self.header):
                        raise self.malformed(
                            start, f"{_count(len(cells), 'cell')}, but the header names {len(self.header)} fields."
                        )
                    yield start, cells
            except csv.Error as error:
                raise self.malformed(reader.line_num, f"not valid CSV: {error}.") from None

    def _check_header(self, header: list[str]) -> list[str]:
        for name in header:
            if name not in self.converters:
                known = ", ".join(self.converters)
                raise self.malformed(1, f"column {name!r} is not a field of {self.entity.plural} (fields: {known}).")
            if header.count(name) > 1:
                raise self.malformed(1, f"column {name!r} appears twice.")
        return header

    def check(self) -> int:
        return sum(1 for _ in self._records())

    def rows(self) -> Iterator[Row]:
        converters = self.converters
        for index, (line, cells) in enumerate(self._records()):
            item = {name: converters[name](cell) for name, cell in zip(self.header, cells, strict=True) if cell != ""}
            yield Row(line, index, item)


READERS: dict[str, type[ItemFile]] = {"json": JsonFile, "ndjson": NdjsonFile, "csv": CsvFile}


# --- The command --------------------------------------------------------------------------------


@dataclass
class Totals:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    batches: int = 0
    failed_batches: int = 0
    written: int = 0  # items of batches that went through


class Command(BaseCommand):
    help = (
        "Run a file of items through the sync service, in batches (each its own transaction "
        "and SyncRun, endpoint 'sync_file'). ENTITY: projects, components, assemblies, pieces, "
        "articles (Ractory, keyed by guid) or cells, resources, jobs, parts, operations (Eryxon MES, "
        "keyed by external_source + external_id; a JSON job may carry nested parts and operations). "
        'Formats: json (an array of items or {"<entity>": [...]}), ndjson (one item a line, '
        "blank lines skipped), csv (a header row of field names; an empty cell leaves the field out); "
        "guessed from the extension (.json, .ndjson/.jsonl, .csv) unless --format is given. Ractory "
        "items without company_guid get --company; MES items always belong to --company. A malformed "
        "file writes nothing. Bad rows are printed on stderr with their line numbers. --atomic (the "
        "default): a batch with a bad row writes "
        "nothing of that batch and the command stops there with a non-zero exit; the batches before "
        "it stay written (with --dry-run every batch is checked and every bad row listed). --partial: "
        "the valid rows are written, the bad ones reported, exit 0. --dry-run writes no rows (its "
        "batches are still recorded as dry-run SyncRuns). The summary is the last line on stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("entity", help=", ".join(ENTITIES))
        parser.add_argument("path", help="the file to read")
        parser.add_argument("--company", required=True, help="guid of the company the items belong to")
        parser.add_argument("--format", dest="file_format", help="json, ndjson or csv (default: from the extension)")
        parser.add_argument(
            "--batch-size", help=f"items per batch (default 1000), at most SYNC_MAX_ITEMS ({settings.SYNC_MAX_ITEMS})"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and classify only; write no rows")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--atomic", dest="atomic", action="store_true", default=True, help="a bad row fails its batch (default)"
        )
        mode.add_argument("--partial", dest="atomic", action="store_false", help="write the valid rows of each batch")

    def handle(self, *args, entity, path, company, file_format, batch_size, dry_run, atomic, **options):
        self.bar_shown = False
        sync_entity = ENTITIES.get(entity)
        if sync_entity is None:
            raise CommandError(f"Unknown entity {entity!r}; one of: {', '.join(ENTITIES)}.")
        size = self._batch_size(batch_size)
        target = company_by_guid(company)
        if not target.is_active:
            raise CommandError(f"Company {target.guid} is deactivated; nothing can be synced for it.")
        source = self._source(Path(path), file_format, sync_entity)
        try:
            total = source.check()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {_reason(error)}") from None

        self.entity, self.source, self.company = sync_entity, source, target
        self.caller = Caller(company=target, role=Role.INTEGRATION)
        self.dry_run, self.atomic = dry_run, atomic
        self.bar = total > 0 and self.stderr.isatty()
        totals, done, started = Totals(), 0, time.monotonic()
        failure = None
        rows = source.rows()
        try:
            while batch := list(islice(rows, size)):
                totals.batches += 1
                failure = self._run_batch(batch, totals)
                done += len(batch)
                self._progress(done, total)
                if failure and not dry_run:
                    break  # atomic: stop at the first failing batch; the ones before stay written
        except (OSError, UnicodeDecodeError) as error:  # the file changed or vanished under us
            self._end_bar()
            raise CommandError(f"Cannot read {path}: {_reason(error)}") from None
        except CommandError:
            self._end_bar()
            raise
        self._end_bar()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"inserted={totals.inserted} updated={totals.updated} unchanged={totals.unchanged} "
            f"errors={totals.errors} batches={totals.batches} elapsed={elapsed:.1f}s"
            + (" dry_run=true" if dry_run else "")
        )
        if dry_run and atomic and totals.failed_batches:
            raise CommandError(
                f"{totals.errors} bad row{_s(totals.errors)} in {totals.failed_batches} of "
                f"{_count(totals.batches, 'batch', 'batches')}; nothing was written (dry run)."
            )
        if failure:
            before = totals.batches - 1
            written = (
                f"nothing of it was written and the command stopped; the {_count(totals.written, 'item')} of the "
                f"{_count(before, 'batch', 'batches')} before it stay written"
                if before
                else "nothing was written and the command stopped"
            )
            raise CommandError(f"Batch {totals.batches} ({failure}) has {_count(totals.errors, 'bad row')}; {written}.")

    # --- arguments ------------------------------------------------------------------------------

    def _batch_size(self, raw: str | None) -> int:
        limit = settings.SYNC_MAX_ITEMS
        if raw is None:
            return min(DEFAULT_BATCH_SIZE, limit)
        if not _INTEGER.fullmatch(raw.strip()) or not 1 <= int(raw) <= limit:
            raise CommandError(f"--batch-size {raw!r} must be an integer from 1 to {limit} (SYNC_MAX_ITEMS).")
        return int(raw)

    def _source(self, path: Path, file_format: str | None, entity: SyncEntity) -> ItemFile:
        if file_format is None:
            file_format = EXTENSIONS.get(path.suffix.lower())
            if file_format is None:
                raise CommandError(
                    f"Cannot tell the format of {path} from its extension; pass --format json|ndjson|csv."
                )
        elif file_format not in FORMATS:
            raise CommandError(f"Unknown --format {file_format!r}; one of: {', '.join(FORMATS)}.")
        if not path.is_file():
            raise CommandError(f"Cannot read {path}: {'not a file' if path.exists() else 'no such file'}.")
        return READERS[file_format](path, entity)

    # --- batches --------------------------------------------------------------------------------

    def _run_batch(self, batch: list[Row], totals: Totals) -> str | None:
        """Sync one batch through the runner (its own transaction and sync run). Returns a
        description of the batch when an atomic batch was refused, None otherwise."""
        entity = self.entity
        items = [row.item for row in batch]
        for item in items:
            if isinstance(item, dict):  # an item naming no company is for --company
                entity.family.company.name_default(item, self.company)
        request = SyncRequest(
            caller=self.caller,
            entity=entity,
            items=items,
            endpoint=ENDPOINT,
            request_hash=_batch_hash(entity.plural, items, dry_run=self.dry_run, atomic=self.atomic),
            dry_run=self.dry_run,
            atomic=self.atomic,
        )
        lines = f"lines {batch[0].line}-{batch[-1].line}"
        try:
            outcome = run_sync(request).outcome
        except ItemsRefused as refusal:
            self._report(batch, refusal.errors)
            totals.errors += refusal.failed_items
            totals.failed_batches += 1
            return lines
        except Refusal as refusal:  # refused as a whole: an item names another company
            message = f"batch {totals.batches} ({lines}) was refused as a whole: {refusal.detail}"
            for row in batch:
                named = row.item.get("company_guid") if isinstance(row.item, dict) else None
                if _names_other_company(named, self.company.guid):
                    message = (
                        f"{self.source.path}:{row.line}: the item names company {named}, not --company "
                        f"{self.company.guid}; batch {totals.batches} ({lines}) was refused as a whole"
                    )
                    break
            raise CommandError(f"{message}; the command stopped.") from None
        self._report(batch, outcome.errors)
        totals.inserted += outcome.count(INSERTED)
        totals.updated += outcome.count(UPDATED)
        totals.unchanged += outcome.count(UNCHANGED)
        totals.errors += outcome.count(ERROR)
        totals.written += len(batch)
        if outcome.count(ERROR):
            totals.failed_batches += 1
        return None

    def _report(self, batch: list[Row], errors: list[FieldError]) -> None:
        """Each item error on stderr: ``path:line: pointer code: detail``, the pointer as in the file."""
        if not errors:
            return
        self._end_bar()
        for error in errors:
            # The service's pointers are /<plural>/<index in the batch>/<field...>.
            _, _, index, rest = (error.pointer.split("/", 3) + ["", ""])[:4]
            rest = f"/{rest}" if rest else ""
            if index.isdigit() and int(index) < len(batch):
                row = batch[int(index)]
                where, pointer = row.line, self.source.pointer(row.index, rest)
            else:
                where, pointer = "?", error.pointer
            self.stderr.write(f"{self.source.path}:{where}: {pointer or '(item)'} {error.code}: {error.detail}")

    # --- progress ---------------------------------------------------------------------------------

    def _progress(self, done: int, total: int) -> None:
        if not self.bar:
            return
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stderr.write(f"\r[{bar}] {done}/{total} {self.entity.plural}", style_func=str, ending="")
        self.stderr.flush()
        self.bar_shown = True

    def _end_bar(self) -> None:
        if self.bar_shown:
            self.stderr.write("", style_func=str)
            self.bar_shown = False


def _batch_hash(plural: str, items: list, *, dry_run: bool, atomic: bool) -> str:
    """The batch's request hash, for its sync run: of its items as sent to the service."""
    body = json.dumps({plural: items}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    query = f"dry_run={str(dry_run).lower()}&atomic={str(atomic).lower()}"
    return request_hash("SYNC_FILE", f"sync_file/{plural}", query, body.encode("utf-8", "surrogatepass"))


def _names_other_company(named, guid: uuid.UUID) -> bool:
    try:
        return named is not None and uuid.UUID(str(named)) != guid
    except ValueError:  # not a guid at all: an item error, not this refusal
        return False


def _decode_message(error: json.JSONDecodeError) -> str:
    # "Unterminated string starting at", "Invalid control character at": the column follows.
    return re.sub(r"( starting)? at$", "", error.msg)


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start}: {error.reason})."
    return f"{error.strerror or error}."


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _count(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
