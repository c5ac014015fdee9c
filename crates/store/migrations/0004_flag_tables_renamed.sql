-- Bunting's flag and tag tables take names of their own, so that Bunting's schema fits beside
-- Flagr's (whose tables are also called `flags` and `tags`) in a database Bunting adopts.
-- A database that holds Flagr's tables gets 0001 with these names at once and skips this one
-- (see migrations.rs).
ALTER TABLE flags RENAME TO bunting_flags;
ALTER TABLE tags RENAME TO bunting_tags;
