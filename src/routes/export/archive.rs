//! The archive: its files, read from one snapshot and written into a ZIP as they are read.
//!
//! [`FILES`] lists every file: its name, what `README.txt` says of it, the schema of its
//! contents (a component of the OpenAPI document, which `schemas` publishes as a JSON
//! Schema) and where its contents come from. A list of rows is one entry: a new file of
//! the user's data is a line of [`FILES`] with the snapshot's stream of its rows.

use async_zip::{Compression, ZipDateTime, ZipEntryBuilder, base::write::ZipFileWriter};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{AsyncWrite, AsyncWriteExt, StreamExt, TryStreamExt, stream::BoxStream};
use serde::Serialize;
use serde_json::Value;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{RefOr, schema::Schema},
};

use super::super::{
    activity::ActivityEvent,
    badges::Badge,
    checkins::Checkin,
    connect::{FollowRequest, follow_item, listed_item},
    feed::Actor,
    goals::LearningGoal,
    partners::Partnership,
    users::MyProfileResponse,
};
use crate::{
    credentials::Issuer,
    db::{
        PeopleList, Snapshot, Store, UserRow,
        export::{KudosList, KudosRow},
    },
    domain::{UserId, streak, week::WeekStart},
    error::AppResult,
    services::partners::Pieces,
};

/// Rows are gathered into chunks of about this size before they go to the compressor.
const CHUNK: usize = 32 * 1024;

/// Where the published schemas live, beside `/openapi.json`.
pub const SCHEMAS_PATH: &str = "/export-schemas/";

/// The user the archive is of, as of the snapshot.
pub struct Owner {
    pub row: UserRow,
    /// Their calendar day (in their time zone) when the export started: the day the goals'
    /// streaks are of, and the file name's date.
    pub today: NaiveDate,
    pub week_start: WeekStart,
    /// When the export started.
    pub now: DateTime<Utc>,
}

/// A stream of one file's rows, each as the JSON the API answers with.
type Rows = for<'a> fn(&'a mut dyn Snapshot, &'a Owner) -> BoxStream<'a, sqlx::Result<Value>>;

/// What a file holds.
#[derive(Clone, Copy)]
pub enum Contents {
    /// One JSON object: the owner's profile.
    Profile,
    /// A JSON array, one row a line, streamed.
    List(Rows),
    /// A folder of JSON files, one per badge: its signed credential.
    Credentials,
}

/// One file (or folder) of the archive.
#[derive(Clone, Copy)]
pub struct ExportFile {
    /// Its path in the archive; a folder's ends with `/`.
    pub name: &'static str,
    /// What `README.txt` says it is.
    pub about: &'static str,
    /// The OpenAPI component that each of its items (or the file itself) is.
    pub component: &'static str,
    pub contents: Contents,
}

impl ExportFile {
    /// The name its JSON Schema is published under: the file's, and for a folder the name
    /// of the folder as a file (`credentials.json` for each file in `credentials/`).
    pub fn schema_name(&self) -> String {
        match self.name.strip_suffix('/') {
            Some(folder) => format!("{folder}.json"),
            None => self.name.to_owned(),
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(self.contents, Contents::List(_))
    }
}

fn json<T: Serialize>(value: T) -> sqlx::Result<Value> {
    serde_json::to_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Every file of the archive but `README.txt`, in the order they are written.
pub const FILES: &[ExportFile] = &[
    ExportFile {
        name: "profile.json",
        about: "Your profile as you see it at GET /users/me: the public fields, your email, \
                time zone, week start and who sees each section (visibility).",
        component: "MyProfileResponse",
        contents: Contents::Profile,
    },
    ExportFile {
        name: "goals.json",
        about: "Every learning goal, oldest first, each with its streak as of the day of the \
                export, as GET /users/{user_id}/goals/{goal_id} shows it.",
        component: "LearningGoal",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .goals(owner.row.id)
                .map(|row| {
                    row.and_then(|row| json(LearningGoal::on(row, owner.today, owner.week_start)))
                })
                .boxed()
        }),
    },
    ExportFile {
        name: "checkins.json",
        about: "Every check-in of every goal, oldest day first: the goal, the day it counts \
                for in your time zone, minutes and note.",
        component: "CheckIn",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .checkins(owner.row.id)
                .map(|row| row.and_then(|row| json(Checkin::from(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "badges.json",
        about: "Every badge you hold, in the order you earned them.",
        component: "Badge",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .badges(owner.row.id)
                .map(|row| row.and_then(|row| json(Badge::from(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "activity.json",
        about: "Your whole activity feed, oldest first, including the events of sections \
                you made private.",
        component: "ActivityEvent",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .activity(owner.row.id)
                .map(|row| row.and_then(|row| json(ActivityEvent::from(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "followers.json",
        about: "Who follows you, newest first, and since when (active accounts only, as \
                GET /users/{user_id}/followers lists them).",
        component: "Follow",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .people(owner.row.id, PeopleList::Followers)
                .map(|row| row.and_then(|row| json(follow_item(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "following.json",
        about: "Whom you follow, newest first, and since when.",
        component: "Follow",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .people(owner.row.id, PeopleList::Following)
                .map(|row| row.and_then(|row| json(follow_item(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "follow-requests.json",
        about: "Who asked to follow you and waits for your answer, newest first.",
        component: "FollowRequest",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .people(owner.row.id, PeopleList::Requests)
                .map(|row| {
                    row.and_then(|row| {
                        json(FollowRequest {
                            id: row.id,
                            username: row.username,
                            display_name: row.display_name,
                            avatar_url: row.avatar_url,
                            requested_at: row.at,
                        })
                    })
                })
                .boxed()
        }),
    },
    ExportFile {
        name: "blocks.json",
        about: "Whom you blocked, newest first, and since when.",
        component: "ListedUser",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .people(owner.row.id, PeopleList::Blocks)
                .map(|row| row.and_then(|row| json(listed_item(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "mutes.json",
        about: "Whom you muted, newest first, and since when.",
        component: "ListedUser",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .people(owner.row.id, PeopleList::Mutes)
                .map(|row| row.and_then(|row| json(listed_item(row))))
                .boxed()
        }),
    },
    ExportFile {
        name: "kudos-received.json",
        about: "Every kudos your events received, oldest first: the event (its id in \
                activity.json), who gave it, and when.",
        component: "KudosReceived",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .kudos(owner.row.id, KudosList::Received)
                .map(|row| {
                    row.and_then(|row| {
                        let (event_id, given_at, user) = kudos_parts(row);
                        json(KudosReceived {
                            event_id,
                            from: user,
                            given_at,
                        })
                    })
                })
                .boxed()
        }),
    },
    ExportFile {
        name: "kudos-given.json",
        about: "Every kudos you gave, oldest first: the event, whose it is, and when.",
        component: "KudosGiven",
        contents: Contents::List(|snapshot, owner| {
            snapshot
                .kudos(owner.row.id, KudosList::Given)
                .map(|row| {
                    row.and_then(|row| {
                        let (event_id, given_at, user) = kudos_parts(row);
                        json(KudosGiven {
                            event_id,
                            to: user,
                            given_at,
                        })
                    })
                })
                .boxed()
        }),
    },
    ExportFile {
        name: "partnerships.json",
        about: "Every accountability partnership you were invited to or invited someone to, \
                oldest first, every status, as GET /users/{user_id}/partnerships/{id} shows \
                it: your goal, your partner (\"a former partner\" once erased), the shared \
                streak as of the export, why it ended.",
        component: "Partnership",
        contents: Contents::List(|snapshot, owner| {
            futures_util::stream::once(partnerships(snapshot, owner))
                .map_ok(|items| futures_util::stream::iter(items.into_iter().map(Ok)))
                .try_flatten()
                .boxed()
        }),
    },
    ExportFile {
        name: "credentials/",
        about: "One file per badge, credentials/<code>.json: the badge as a signed Open \
                Badges 3.0 credential, as GET /users/{user_id}/badges/{code}/credential \
                serves it. Anyone can verify it offline; it does not contain your email.",
        component: "OpenBadgeCredential",
        contents: Contents::Credentials,
    },
];

/// The owner's partnerships, each as the API shows it to them. Few per user: read whole,
/// then each partner, goal title and the last few days' check-ins.
async fn partnerships(snapshot: &mut dyn Snapshot, owner: &Owner) -> sqlx::Result<Vec<Value>> {
    let mut items = Vec::new();
    for row in snapshot.partnerships(owner.row.id).await? {
        let Some(side) = row.side_of(owner.row.id) else {
            continue;
        };
        let partner = match row.user(1 - side) {
            Some(id) => snapshot.user(id).await?,
            None => None,
        };
        let goal = match row.goal(side) {
            Some(goal) => snapshot.goal_title(goal).await?.map(|title| (goal, title)),
            None => None,
        };
        let Some(pieces) = Pieces::of(&row, &owner.row, partner.as_ref(), owner.now) else {
            continue;
        };
        let dates = match pieces.from {
            Some(from) => {
                snapshot
                    .recent_dates([row.goal(0), row.goal(1)], from)
                    .await?
            }
            None => Vec::new(),
        };
        items.push(json(Partnership::from(
            pieces.seen(row, partner, goal, &dates),
        ))?);
    }
    Ok(items)
}

/// A kudos the user's event received: the event, who gave it, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct KudosReceived {
    pub event_id: i64,
    pub from: Actor,
    pub given_at: DateTime<Utc>,
}

/// A kudos the user gave: the event, whose it is, when.
#[derive(Debug, Serialize, ToSchema)]
pub struct KudosGiven {
    pub event_id: i64,
    pub to: Actor,
    pub given_at: DateTime<Utc>,
}

/// The archive's own types, beside the OpenAPI document's components (see `schemas`).
pub fn own_components() -> Vec<(String, RefOr<Schema>)> {
    vec![
        ("KudosReceived".into(), KudosReceived::schema()),
        ("KudosGiven".into(), KudosGiven::schema()),
    ]
}

fn kudos_parts(row: KudosRow) -> (i64, DateTime<Utc>, Actor) {
    (
        row.event_id,
        row.at,
        Actor {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            avatar_url: row.avatar_url,
        },
    )
}

/// A user's data in one snapshot, ready to be written.
pub struct Archive {
    snapshot: Box<dyn Snapshot>,
    owner: Owner,
    /// When the snapshot was taken.
    taken_at: DateTime<Utc>,
}

impl Archive {
    /// Opens the snapshot and reads the user: `None` when there is no such active user.
    pub async fn open(
        store: &dyn Store,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Self>> {
        let mut snapshot = store.export_snapshot().await?;
        let Some(row) = snapshot.user(user).await? else {
            return Ok(None);
        };
        let owner = Owner {
            today: streak::today(now, row.time_zone()),
            week_start: row.week_start(),
            now,
            row,
        };
        Ok(Some(Self {
            snapshot,
            owner,
            taken_at: now,
        }))
    }

    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// `user-service-export-<username or id>-<YYYY-MM-DD>.zip`: the username when it is
    /// plain (letters, digits, `.`, `_`, `-`), else the id; the day is the user's.
    pub fn file_name(&self) -> String {
        let username = &self.owner.row.username;
        let plain = !username.is_empty()
            && username.len() <= 64
            && !username.starts_with('.')
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let who = if plain {
            username.clone()
        } else {
            self.owner.row.id.to_string()
        };
        format!(
            "user-service-export-{who}-{}.zip",
            self.owner.today.format("%Y-%m-%d")
        )
    }

    /// Writes the archive into `out`, every file from the snapshot, and ends the snapshot.
    pub async fn write<W: tokio::io::AsyncWrite + Unpin>(
        mut self,
        issuer: &Issuer,
        out: W,
    ) -> anyhow::Result<W> {
        let mut zip = ZipFileWriter::with_tokio(out);
        let modified = ZipDateTime::from_chrono(&self.taken_at);
        let entry = |name: String| {
            ZipEntryBuilder::new(name.into(), Compression::Deflate)
                .last_modification_date(modified)
                .unix_permissions(0o644)
        };
        zip.write_entry_whole(entry("README.txt".into()), readme(&self).as_bytes())
            .await?;
        for file in FILES {
            match file.contents {
                Contents::Profile => {
                    let profile = MyProfileResponse::from_row(&self.owner.row);
                    let mut bytes = serde_json::to_vec_pretty(&profile)?;
                    bytes.push(b'\n');
                    zip.write_entry_whole(entry(file.name.into()), &bytes)
                        .await?;
                }
                Contents::List(rows) => {
                    let mut writer = zip.write_entry_stream(entry(file.name.into())).await?;
                    write_list(rows(&mut *self.snapshot, &self.owner), &mut writer).await?;
                    writer.close().await?;
                }
                Contents::Credentials => {
                    let mut awards = self.snapshot.credential_awards(self.owner.row.id);
                    while let Some(award) = awards.try_next().await? {
                        let credential = issuer.badge_credential(&award).await?;
                        let mut bytes = serde_json::to_vec_pretty(&credential)?;
                        bytes.push(b'\n');
                        let name = format!("{}{}.json", file.name, award.code);
                        zip.write_entry_whole(entry(name), &bytes).await?;
                    }
                }
            }
        }
        let mut out = zip.close().await?.into_inner();
        tokio::io::AsyncWriteExt::shutdown(&mut out).await?;
        Ok(out)
    }
}

/// A JSON array of the rows, one a line, handed to `out` in chunks of about [`CHUNK`].
async fn write_list(
    mut rows: BoxStream<'_, sqlx::Result<Value>>,
    out: &mut (impl AsyncWrite + Unpin),
) -> anyhow::Result<()> {
    let mut buffer = Vec::with_capacity(CHUNK + 1024);
    buffer.push(b'[');
    let mut empty = true;
    while let Some(row) = rows.try_next().await? {
        buffer.extend_from_slice(if empty { b"\n  " } else { b",\n  " });
        empty = false;
        serde_json::to_writer(&mut buffer, &row)?;
        if buffer.len() >= CHUNK {
            out.write_all(&buffer).await?;
            buffer.clear();
        }
    }
    buffer.extend_from_slice(if empty { b"]\n" } else { b"\n]\n" });
    out.write_all(&buffer).await?;
    Ok(())
}

/// `README.txt`: what the archive is, and every file in it.
fn readme(archive: &Archive) -> String {
    let row = &archive.owner.row;
    let mut text = format!(
        "Your data from user-service\n\
         ===========================\n\
         \n\
         User {id} ({username}), exported at {taken} (UTC). Every file was read at that one\n\
         instant: a change made while the archive was written is in none of them.\n\
         \n\
         The files are UTF-8 JSON; times are RFC 3339 in UTC, days are YYYY-MM-DD in your\n\
         time zone ({zone}). Each JSON file has a JSON Schema (draft 2020-12), served by\n\
         the service beside its OpenAPI document, at {schemas}<name>.json.\n\
         \n",
        id = row.id,
        username = row.username,
        taken = archive
            .taken_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        zone = row.time_zone().name(),
        schemas = SCHEMAS_PATH,
    );
    text.push_str("README.txt\n    This file.\n\n");
    for file in FILES {
        text.push_str(file.name);
        text.push('\n');
        for line in wrap(file.about, 84) {
            text.push_str("    ");
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&format!(
            "    Schema: {SCHEMAS_PATH}{}{}\n\n",
            file.schema_name(),
            if file.is_list() {
                " (an array of these)"
            } else {
                ""
            },
        ));
    }
    text
}

/// `text`'s words in lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_its_own_name_and_schema_name() {
        let mut names: Vec<_> = FILES.iter().map(|f| f.name).collect();
        let mut schemas: Vec<_> = FILES.iter().map(ExportFile::schema_name).collect();
        names.sort_unstable();
        names.dedup();
        schemas.sort_unstable();
        schemas.dedup();
        assert_eq!(names.len(), FILES.len());
        assert_eq!(schemas.len(), FILES.len());
        assert!(schemas.iter().all(|s| s.ends_with(".json")));
    }

    #[test]
    fn words_are_wrapped_without_splitting_them() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
    }
}
