"""The partnership file (SPEC section 3): `partnerbot load FILE.yaml`.

`read_file` turns a file into plain data, refusing what YAML cannot read and
what no partnership file needs (alias bombs, absurd nesting, many megabytes).
`load` checks the data whole against pydantic models (shapes.py, validation.py),
then creates or updates the rows it describes in the caller's session, without
committing: a bad file is refused with every problem and nothing is written.

What the file states is made true; what it leaves out is not invented:
- organisations, people, groups and workstreams are described whole, so a key
  left out takes its default (a person without `slack:` has no Slack id);
- membership, leads and contributors are made equal to the file's lists when
  the list is given; a list left out leaves them as they are;
- meetings and actions change day to day through the bot (cancelled, moved
  rooms, done), so their optional keys left out keep the stored value;
- nothing the file does not mention is ever deleted.

The package, by concept:
  reading.py     file -> plain data, within YAML safety limits
  shapes.py      the kinds of value, and one model per kind of entry: one field per key
  validation.py  checking the file whole -> the File model, or every problem
  problems.py    pydantic's errors -> "path: message", in file order
  stored.py      what the database already holds that the file names
  writing.py     the upsert, audited change by change (adding a key: a field, and its write here)
  loading.py     `load`: check, then write, in the caller's transaction
"""

from storage.partnership_file.errors import PartnershipFileError
from storage.partnership_file.loading import LoadResult, load
from storage.partnership_file.reading import read_file

__all__ = ["LoadResult", "PartnershipFileError", "load", "read_file"]
