"""Every DATA form loads; every bad input is an InputError naming the file, line or field."""

import gzip
import json
from pathlib import Path

import datasets
import pytest

from auditor.errors import InputError
from auditor.loading import LoadOptions, load_corpus
from auditor.loading.readers import ReadOptions


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


ROWS = [{"question": "What is 2+2?", "answer": "4", "label": "NUM"},
        {"question": "Who wrote Hamlet?", "answer": "Shakespeare", "label": "HUM"}]  # fmt: skip


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".tsv", ".parquet", ".jsonl.gz"])
def test_formats_give_the_same_corpus(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        write(path, "\n".join(json.dumps(row) for row in ROWS) + "\n")
    elif suffix == ".jsonl.gz":
        path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in ROWS).encode()))
    elif suffix == ".json":
        write(path, json.dumps(ROWS))
    elif suffix in (".csv", ".tsv"):
        sep = "," if suffix == ".csv" else "\t"
        lines = [sep.join(ROWS[0])] + [sep.join(row.values()) for row in ROWS]
        write(path, "\n".join(lines) + "\n")
    else:
        datasets.Dataset.from_list(ROWS).to_parquet(str(path))
    corpus = load_corpus(str(path))
    assert corpus.texts == ["What is 2+2?", "Who wrote Hamlet?"]
    assert corpus.dataset["answer"] == ["4", "Shakespeare"]
    assert corpus.dataset["label"] == ["NUM", "HUM"]


def test_txt_and_save_to_disk(tmp_path: Path) -> None:
    corpus = load_corpus(str(write(tmp_path / "items.txt", "first item\n\nsecond item\r\n")))
    assert corpus.texts == ["first item", "second item"]
    folder = tmp_path / "saved"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(folder))
    assert len(load_corpus(f"{folder}:test")) == 2
    with pytest.raises(InputError, match="splits test"):
        load_corpus(str(folder))


def test_overrides_and_templates(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", json.dumps({"q": "Q1", "a": "A1", "meta": {"t": "deep"}}))
    corpus = load_corpus(str(path), LoadOptions(text_field="{q} => {a} ({meta.t})"))
    assert corpus.texts == ["Q1 => A1 (deep)"]
    assert load_corpus(str(path), LoadOptions(text_field="meta.t")).texts == ["deep"]


def test_chat_records(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Yo"}]}
    corpus = load_corpus(str(write(tmp_path / "chat.jsonl", json.dumps(row))))
    assert corpus.texts == ["user: Hi?\nassistant: Yo"]


def copy_as(source: Path, folder: Path, name: str) -> Path:
    return write(folder / name, source.read_bytes())


def test_split_on_newline_only(shared_data: Path, tmp_path: Path) -> None:
    """rt-polarity holds 0x85 bytes (U+0085 in latin-1) inside items: 10,662 lines, 10,662 items."""
    path = copy_as(shared_data / "kim2014" / "rt-polarity.all", tmp_path, "mr.txt")
    corpus = load_corpus(str(path), LoadOptions(encoding="latin-1"))
    assert len(corpus) == 10662
    assert sum("\x85" in text for text in corpus.texts) > 0


# -- bad inputs ----------------------------------------------------------------------------------


def test_malformed_json_line_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": "broken"\n{"text": "ok"}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2: malformed JSON"):
        load_corpus(str(path))
    corpus = load_corpus(str(path), LoadOptions(read=ReadOptions(skip_bad_lines=True)))
    assert len(corpus) == 2
    assert "skipped 1 bad line " in corpus.notes[0] and corpus.skipped_lines == 1


def test_json_array_where_object_expected(tmp_path: Path) -> None:
    path = write(tmp_path / "arr.jsonl", '{"text": "ok"}\n["not", "an", "object"]\n')
    with pytest.raises(InputError, match=r"arr\.jsonl:2: holds a JSON array"):
        load_corpus(str(path))


def test_gzip_not_named_gz(tmp_path: Path) -> None:
    path = write(tmp_path / "data.jsonl", gzip.compress(b'{"text": "x"}\n'))
    with pytest.raises(InputError, match="gzip-compressed but its name does not end in .gz"):
        load_corpus(str(path))


def test_non_utf8_names_offset_and_suggests_encoding(shared_data: Path, tmp_path: Path) -> None:
    path = copy_as(shared_data / "kim2014" / "TREC.train.all", tmp_path, "trec.txt")
    with pytest.raises(InputError, match=r"not valid utf-8 at byte offset \d+ \(line \d+") as info:
        load_corpus(str(path))
    assert "--encoding" in str(info.value)
    corpus = load_corpus(str(path), LoadOptions(encoding="auto"))
    assert len(corpus) == 5452
    assert corpus.notes == ["trec.txt: decoded as cp1252 (detected)"]


def test_encoding_auto_detects_and_reports(tmp_path: Path) -> None:
    text = "café crème brûlée\nnaïve façade résumé\n" * 20
    path = write(tmp_path / "latin.txt", text.encode("latin-1"))
    corpus = load_corpus(str(path), LoadOptions(encoding="auto"))
    assert corpus.texts[0] == "café crème brûlée"
    assert "decoded as" in corpus.notes[0]
    assert load_corpus(str(path), LoadOptions(encoding="latin-1")).texts[1] == "naïve façade résumé"


def test_line_over_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "long.txt", "short\n" + "x" * 500 + "\n")
    with pytest.raises(InputError, match=r"long\.txt:2: line is 500 characters"):
        load_corpus(str(path), LoadOptions(read=ReadOptions(max_line_chars=100)))


def test_missing_text_field_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "odd.jsonl", json.dumps({"body": "x", "tag": 1}))
    with pytest.raises(InputError, match="no text field found among the fields body, tag"):
        load_corpus(str(path))
    with pytest.raises(InputError, match="no field 'nope'.*Available fields: body, tag"):
        load_corpus(str(path), LoadOptions(text_field="nope"))


def test_unknown_split_lists_splits() -> None:
    with pytest.raises(InputError, match="no split 'dev'. Its splits: train, test"):
        load_corpus("trec:dev")


def test_unknown_card_did_you_mean() -> None:
    with pytest.raises(InputError, match="Did you mean 'gsm8k'"):
        load_corpus("gsm8:test")


def test_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no items"):
        load_corpus(str(write(tmp_path / "empty.jsonl", "\n\n")))
    with pytest.raises(InputError, match="text field 'text' is empty"):
        load_corpus(str(write(tmp_path / "blank.jsonl", '{"text": "  "}\n')))


def test_hub_while_offline_says_so() -> None:
    with pytest.raises(InputError, match="HF_HUB_OFFLINE is set.*local file"):
        load_corpus("hf:someorg/somedata:test")
    with pytest.raises(InputError, match="HF_HUB_OFFLINE is set"):
        load_corpus("mmlu:test")


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_corpus(str(tmp_path / "absent.jsonl"))
    with pytest.raises(InputError, match="unknown file type '.xml'"):
        load_corpus(str(write(tmp_path / "data.xml", "<a/>")))


def test_label_outside_card_label_set(tmp_path: Path, monkeypatch) -> None:
    from auditor import loading

    rows = [("x:1", {"text": "a", "label": "7"})]
    mapping = loading.FieldMap(text="text", label="label", label_names=("neg", "pos"))
    with pytest.raises(InputError, match=r"x:1: label '7' is not in the card's label set"):
        loading.build_corpus(rows, mapping, "x", None, [])


def test_arc_answer_keys_are_looked_up_among_the_choice_labels(tmp_path: Path) -> None:
    """ARC mixes letter keys (A-D) with digit keys (1-4) whose '1' is the first choice."""
    rows = [
        {"question": "q0", "choices": {"text": ["a", "b", "c"], "label": ["A", "B", "C"]},
         "answerKey": "C"},
        {"question": "q1", "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]},
         "answerKey": "1"},
        {"question": "q2", "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]},
         "answerKey": "4"},
    ]  # fmt: skip
    path = tmp_path / "arc.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    corpus = load_corpus(str(path))  # fields detected: question, choices.text, answerKey
    assert corpus.column("choices")[1] == ["w", "x", "y", "z"]
    assert corpus.column("label") == ["2", "0", "3"]
    rows[0]["answerKey"] = "E"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(InputError, match=r"arc.jsonl:1.*'E' is not one of the choice labels"):
        load_corpus(str(path), LoadOptions(label_field="answerKey"))


def test_label_text_files_named_all_read_like_the_cards(tmp_path: Path) -> None:
    """A local `.all` file (the Kim 2014 `LABEL TEXT` format the TREC card ships) reads with the
    card's parser: the first token is the label, the rest the text; a tab works like a space."""
    path = write(tmp_path / "mine.all", "NUM How far is Aspen ?\n\nHUM\tWho was Galileo ?\n")
    corpus = load_corpus(str(path))
    assert corpus.texts == ["How far is Aspen ?", "Who was Galileo ?"]
    assert corpus.column("label") == ["NUM", "HUM"]
    gz = tmp_path / "mine.all.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert load_corpus(str(gz)).texts == corpus.texts


@pytest.mark.parametrize(("line", "why"), [
    ("5", "holds the label '5' but no text after it"),
    ("5   ", "holds the label '5' but no text after it"),
    (" How far is Aspen ?", "starts with whitespace, so it has no label"),
])  # fmt: skip
def test_label_text_line_without_text_names_the_line(tmp_path: Path, line: str, why: str) -> None:
    path = write(tmp_path / "bad.all", f"4 Who was Galileo ?\n{line}\n")
    with pytest.raises(InputError) as error:
        load_corpus(str(path))
    assert str(error.value) == (
        f"{path}:2: {why}; expected `LABEL TEXT` (a label, one space or tab, then the text). "
        "Fix the line, or pass --skip-bad-lines to skip such lines (they are counted in the "
        "report)."
    )
    skipped = load_corpus(str(path), LoadOptions(read=ReadOptions(skip_bad_lines=True)))
    assert skipped.texts == ["Who was Galileo ?"] and skipped.skipped_lines == 1


def test_a_copy_of_a_shipped_split_reads_as_the_card_does(tmp_path: Path) -> None:
    """TREC's shipped test split, copied as a user file: the same texts, the raw labels (the
    card maps 0..5 to its label names), and the same for the ISO-8859-1 training split."""
    from auditor.cards import cards_dir

    for split, encoding in (("test", None), ("train", "iso-8859-1")):
        path = copy_as(cards_dir() / "data" / "trec" / f"TREC.{split}.all", tmp_path, "t.all")
        copy = load_corpus(str(path), LoadOptions(encoding=encoding))
        card = load_corpus(f"trec:{split}")
        assert copy.texts == card.texts and len(copy) == {"test": 500, "train": 5452}[split]
        names = ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"]
        assert [names[int(label)] for label in copy.column("label")] == card.column("label")


@pytest.mark.parametrize("name", ["data.jsonl", "data.jsonl.gz", "data.txt", "data.all"])
def test_streamed_files_load_as_the_whole_file_reader_does(tmp_path: Path, name: str) -> None:
    """Line formats in UTF-8 stream (never held whole); other encodings read the whole file.
    Both must give the same corpus, the same skipped lines, and the same error for a bad
    byte (file, byte offset, line)."""
    from auditor.loading.build import CHUNK_ROWS

    count = CHUNK_ROWS + 7  # more than one Arrow chunk
    if name.startswith("data.jsonl"):
        lines = [json.dumps({"text": f"item {i} caf\u00e9", "label": str(i % 3)},
                            ensure_ascii=False) for i in range(count)]  # fmt: skip
        lines[5] = "{not json"
    elif name == "data.all":
        lines = [f"L{i % 3} item {i} caf\u00e9" for i in range(count)]
        lines[5] = " no label"
    else:
        lines = [f"item {i} caf\u00e9" for i in range(count)]
    data = ("\ufeff" + "\n".join(lines) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    read = ReadOptions(skip_bad_lines=True)
    streamed = load_corpus(str(path), LoadOptions(read=read))
    whole = load_corpus(str(path), LoadOptions(read=read, encoding="utf-8-sig"))
    assert streamed.dataset.to_dict() == whole.dataset.to_dict()
    assert streamed.skipped_lines == whole.skipped_lines == (0 if name == "data.txt" else 1)
    assert streamed.texts[0] == whole.texts[0] and not streamed.texts[0].startswith("\ufeff")
    bad = tmp_path / name.replace("data", "bad")
    broken = data.replace("item 9 caf\u00e9".encode(), b"item 9 caf\xe9", 1)
    bad.write_bytes(gzip.compress(broken) if name.endswith(".gz") else broken)
    messages = []
    for encoding in (None, "utf-8-sig"):
        with pytest.raises(InputError) as error:
            load_corpus(str(bad), LoadOptions(read=read, encoding=encoding))
        messages.append(str(error.value).replace("utf-8-sig", "utf-8"))
    assert messages[0] == messages[1] and "line 10" in messages[0]
