//! `netlens features`: list the flow feature registry.

use std::io::Write;

use anyhow::Result;
use clap::Parser;
use netlens_flow::{COLUMNS, Group};

/// List every flow column netlens can export, by group, with unit and definition.
#[derive(Parser, Debug)]
pub struct Args {
    /// Print the Markdown reference page (docs/features.md).
    #[arg(long)]
    pub markdown: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if a.markdown {
        out.write_all(netlens_flow::features::markdown_reference().as_bytes())?;
        return Ok(());
    }
    for g in Group::ALL {
        writeln!(out, "[{}]", g.name())?;
        for c in COLUMNS.iter().filter(|c| c.group == g) {
            writeln!(out, "  {:<32} {:<20} {}", c.name, c.ty.name(), c.doc)?;
        }
    }
    Ok(())
}
