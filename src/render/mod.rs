//! Pictures the service draws itself, as SVG text: the built-in badges' icons and the
//! profile card. Nothing here fetches anything; every picture is self-contained.

pub mod badge_icon;
pub mod card;
