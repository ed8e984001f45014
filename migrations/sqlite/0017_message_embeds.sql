-- Embeds (Discord's embed objects, validated on the way in) as a JSON array, and Discord's message flags
-- (SUPPRESS_EMBEDS 1<<2 is the one acted on).
ALTER TABLE messages ADD COLUMN embeds TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
