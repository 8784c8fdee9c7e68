//! Pictures the service draws itself, as SVG text: the built-in badges' icons. Nothing here
//! fetches anything; every picture is self-contained.

pub mod badge_icon;
