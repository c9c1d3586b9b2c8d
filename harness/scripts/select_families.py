#!/usr/bin/env python3
"""Copy the records of some families out of a torch_bench / kvbench result file (kvbench-result/1).

A device call often measures several families into one file; the fit may take some of them and
leave the others as unfitted checks. This writes a file holding the selected families' records
and skips, with the source file's header (harness, device, run provenance) and a note in
run.notes naming the source file and the selection, so the derived file is reproducible:

  python3 harness/scripts/select_families.py SOURCE.json OUT.json torch_attention [FAMILY ...]
"""
import json
import sys


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    src, out, families = argv[1], argv[2], set(argv[3:])
    with open(src) as f:
        doc = json.load(f)
    if doc.get("schema") != "kvbench-result/1":
        sys.stderr.write(f"{src}: 'schema': expected \"kvbench-result/1\", found {doc.get('schema')!r}\n")
        return 1
    found = {b.get("family") for b in doc["benchmarks"]}
    missing = families - found
    if missing:
        sys.stderr.write(f"{src}: no records of famil{'y' if len(missing) == 1 else 'ies'} {', '.join(sorted(missing))} "
                         f"(found {', '.join(sorted(f for f in found if f))})\n")
        return 1
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b.get("family") in families]
    doc["skipped"] = [s for s in doc.get("skipped", []) if s.get("family") in families]
    name = src.rsplit("/", 1)[-1]
    note = f"records of {', '.join(sorted(families))} selected from {name} by harness/scripts/select_families.py"
    run = doc.setdefault("run", {})
    run["notes"] = f"{run['notes']}; {note}" if run.get("notes") else note
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out}: {len(doc['benchmarks'])} records ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
