//! The results as Markdown, printed as they come and written to a file.

#[derive(Default)]
pub struct Report {
    out: String,
}

impl Report {
    fn push(&mut self, s: &str) {
        println!("{s}");
        self.out.push_str(s);
        self.out.push('\n');
    }

    pub fn h2(&mut self, title: &str) {
        self.push(&format!("\n## {title}\n"));
    }

    pub fn h3(&mut self, title: &str) {
        self.push(&format!("\n### {title}\n"));
    }

    /// A paragraph.
    pub fn line(&mut self, text: &str) {
        self.push(&format!("{text}\n"));
    }

    pub fn table(&mut self, headers: &[&str], rows: Vec<Vec<String>>) {
        let mut t = format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(headers.len()));
        for r in rows {
            t.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        self.push(&t);
    }

    pub fn text(&self) -> &str {
        &self.out
    }
}
