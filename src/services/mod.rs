//! The writes the API offers, each one transaction composed from the database's primitives
//! and the domain's rules. Routes validate input and shape output; everything between
//! happens here, once for both backends.

pub mod goals;
pub mod profile;
