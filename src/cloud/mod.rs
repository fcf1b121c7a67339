//! Cloud mode: the Firebase and Google Cloud implementations of the traits
//! in `store`, `blob` and `identity`, used by `livedrop serve --backend
//! firebase` and by the Vercel functions in `api/`.

pub mod app;
pub mod clock;
pub mod emulator;
pub mod firebase_auth;
pub mod firestore;
pub mod gcs;
pub mod service_account;
pub mod vercel;
