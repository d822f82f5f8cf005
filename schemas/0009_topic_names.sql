-- Topic names per language for the seekers' app: a JSON object {"ar": "...", "fa": "...", ...}
-- beside the default name. Set with lotse-admin topic add/update --name-in LANG=NAME.
ALTER TABLE topics ADD COLUMN names TEXT NOT NULL DEFAULT '{}';
