//! The alert record: the one shared by every netlens detector, defined in
//! `netlens_export::alert` (the isolation forest and the online detector
//! write the same record).

pub use netlens_export::alert::{Alert, AlertWriter, TopFeature};
