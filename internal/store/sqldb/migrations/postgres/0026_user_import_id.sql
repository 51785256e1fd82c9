-- The import run (imports.id) that made the account; NULL for accounts
-- made any other way and for those imported before this column. An import
-- finds a row repeating a key of an earlier row of its own file by this:
-- the database's unique keys refuse the second row, and the account they
-- point to carries the run's id (docs/import.md, "Duplicates"). Holding
-- every key of the file in memory instead cost 8 bytes a key, 800 MB at
-- ten million members. It also answers an operator's "which import made
-- this account". No index: it is only read with a row found by a unique key.
ALTER TABLE users ADD COLUMN import_id TEXT;
