//! The rules of the service as plain types and functions: no I/O, no SQL and no HTTP
//! handling. Every validated value here is built only through its `parse`, so a value of one
//! of these types is valid wherever it travels. A validation that fails names its fields
//! with `FieldError`s (`field_error.rs`), which the edge puts in its problem document; some
//! types derive the traits the edges use to carry them (serde and utoipa for the API, sqlx
//! for ids, clap for the tier), which nothing here calls. Nothing here names the crate
//! outside `domain` (`tests/layering.rs` checks it): the rest of the crate stands on this.

pub mod account;
pub mod activity;
pub mod badges;
pub mod checkin;
pub mod field_error;
pub mod goal;
pub mod heatmap;
pub mod ids;
pub mod partnership;
pub mod patch;
pub mod platform_event;
pub mod profile;
pub mod reminder;
pub mod revocation;
pub mod social;
pub mod streak;
pub mod text;
pub mod version;
pub mod visibility;
pub mod week;
pub mod weekly_streak;

pub use field_error::{FieldError, field};
pub use goal::{GoalDescription, GoalStatus, GoalTitle};
pub use ids::{GoalId, UserId};
pub use patch::Patch;
pub use profile::{AvatarUrl, Bio, DisplayName, Skills, TimeZone};
