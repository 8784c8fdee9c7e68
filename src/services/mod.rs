//! The writes the API offers, each one transaction composed from the database's primitives
//! and the domain's rules: the state change, its activity event and the badges it earns
//! commit together or not at all. Routes validate input and shape output; everything
//! between happens here, once for both backends.

pub mod badges;
pub mod checkins;
pub mod goals;
pub mod profile;
pub mod users;
