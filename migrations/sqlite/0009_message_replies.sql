-- Replies (Discord's message_reference): the id of the replied-to message, in the same channel. Only the id is
-- stored; the referenced message is read when a page is served (one batched read per page), so an edit or a
-- delete of the original shows at once.
ALTER TABLE messages ADD COLUMN reference_id INTEGER;
