//! What each letter says. Plain text: every client shows it, and nothing in
//! it (a file name, an address) can turn into markup.

use super::Letter;
use crate::domain::Email;

const SIGNATURE: &str =
    "\n-- \nlivedrop. You get this letter because of something done with your address on livedrop.\n";

/// To confirm an address at sign-up (self-hosted).
pub fn verify_address(to: &Email, url: &str) -> Letter {
    Letter {
        to: to.clone(),
        subject: "Confirm your e-mail address for livedrop".into(),
        body: format!(
            "Someone, probably you, created a livedrop account with the address {to}.\n\n\
             Open this link to confirm that it is yours (it works for 48 hours, once):\n\n{url}\n\n\
             Files people share with {to} reach your account once you have confirmed it.\n\
             If you did not create the account, ignore this letter: nothing is shared with it.\n{SIGNATURE}"
        ),
    }
}

/// A file was shared with someone who has an account.
pub fn shared(to: &Email, sharer: &Email, file_name: &str, url: &str) -> Letter {
    Letter {
        to: to.clone(),
        subject: format!("{sharer} shared \u{201c}{file_name}\u{201d} with you"),
        body: format!(
            "{sharer} shared the file \u{201c}{file_name}\u{201d} with you on livedrop.\n\n\
             Open it here (you may be asked to sign in):\n\n{url}\n{SIGNATURE}"
        ),
    }
}

/// A file was shared with an address that has no (verified) account yet.
pub fn invited(to: &Email, sharer: &Email, file_name: &str, url: &str) -> Letter {
    Letter {
        to: to.clone(),
        subject: format!("{sharer} shared \u{201c}{file_name}\u{201d} with you on livedrop"),
        body: format!(
            "{sharer} shared the file \u{201c}{file_name}\u{201d} with {to} on livedrop.\n\n\
             To see it, open this link and create an account with this address (or sign in, if you \
             have one). The link proves the address is yours, so keep it to yourself:\n\n{url}\n{SIGNATURE}"
        ),
    }
}

/// Someone downloaded a file whose owner asked to be told.
pub fn downloaded(to: &Email, file_name: &str, by: Option<&Email>, url: &str) -> Letter {
    let who = match by {
        Some(e) => e.to_string(),
        None => "Someone with a public link".into(),
    };
    Letter {
        to: to.clone(),
        subject: format!("\u{201c}{file_name}\u{201d} was downloaded"),
        body: format!(
            "{who} downloaded your file \u{201c}{file_name}\u{201d}.\n\n\
             See its activity here:\n\n{url}\n\n\
             You get these letters because you turned them on; turn them off on your Account page.\n{SIGNATURE}"
        ),
    }
}
