//! The rules of the service as plain types and functions, with no HTTP or SQL in them.
//! Every validated value here is built only through its `parse`, so a value of one of these
//! types is valid wherever it travels.

pub mod account;
pub mod activity;
pub mod badges;
pub mod checkin;
pub mod goal;
pub mod ids;
pub mod patch;
pub mod profile;
pub mod streak;
pub mod text;
pub mod visibility;

pub use goal::{GoalDescription, GoalStatus, GoalTitle};
pub use ids::{GoalId, UserId};
pub use patch::Patch;
pub use profile::{AvatarUrl, Bio, DisplayName, Skills, TimeZone};
