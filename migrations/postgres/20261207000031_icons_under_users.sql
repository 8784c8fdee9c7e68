-- The built-in badges' icons are served under /users, the only prefix the platform's
-- gateway forwards; their old paths answer 308 to the new ones. An icon_url an operator set
-- is theirs and stays as it is.
UPDATE badges SET icon_url = '/users' || icon_url
WHERE icon_url = '/badges/' || code || '.svg'
  AND code IN ('first-goal', 'first-completion', 'five-completions', 'twenty-five-completions',
               'streak-3', 'streak-7', 'streak-30', 'streak-100', 'profile-complete',
               'weekly-streak-4', 'weekly-streak-12', 'weekly-streak-52');
