//! Tables rendered as `| a | b |` rows, with a separator under a header row.

use super::output::collapse;
use super::Renderer;

/// The table being rendered; nested tables are flattened into its cells.
#[derive(Debug, Default)]
pub(super) struct Table {
    nested: usize,
    row: Option<Vec<String>>,
    pub(super) cell: Option<String>,
    header_row: bool,
    rows_emitted: usize,
}

impl Renderer {
    /// Whether text currently goes into a table cell.
    pub(super) fn in_cell(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.cell.is_some())
    }
    pub(super) fn start_table(&mut self) {
        if let Some(table) = &mut self.table {
            // Nested tables are flattened into the outer cell.
            table.nested += 1;
            if let Some(cell) = &mut table.cell {
                cell.push(' ');
            }
            return;
        }
        self.request(2);
        self.table = Some(Table::default());
    }

    pub(super) fn end_table(&mut self) {
        match &mut self.table {
            Some(table) if table.nested > 0 => {
                table.nested -= 1;
                if let Some(cell) = &mut table.cell {
                    cell.push(' ');
                }
            }
            Some(_) => {
                self.finish_row();
                self.table = None;
                self.request(2);
            }
            None => {}
        }
    }

    pub(super) fn table_start(&mut self, name: &str) {
        let Some(table) = &mut self.table else {
            self.sink(" "); // a stray cell outside any table
            return;
        };
        if table.nested > 0 {
            if let Some(cell) = &mut table.cell {
                cell.push(' ');
            }
            return;
        }
        if name == "tr" {
            self.finish_row();
            if let Some(table) = &mut self.table {
                table.row = Some(Vec::new());
                table.header_row = true;
            }
            return;
        }
        self.finish_cell();
        if let Some(table) = &mut self.table {
            if table.row.is_none() {
                table.row = Some(Vec::new());
                table.header_row = true;
            }
            table.header_row &= name == "th";
            table.cell = Some(String::new());
        }
    }

    pub(super) fn table_end(&mut self, name: &str) {
        match &mut self.table {
            Some(table) if table.nested > 0 => {
                if let Some(cell) = &mut table.cell {
                    cell.push(' ');
                }
            }
            Some(_) if name == "tr" => self.finish_row(),
            Some(_) => self.finish_cell(),
            None => self.sink(" "),
        }
    }

    fn finish_cell(&mut self) {
        if let Some(table) = &mut self.table {
            if let Some(cell) = table.cell.take() {
                let text = collapse(&cell).replace('|', "\\|");
                table.row.get_or_insert_with(Vec::new).push(text);
            }
        }
    }

    pub(super) fn finish_row(&mut self) {
        self.finish_cell();
        let Some(table) = &mut self.table else {
            return;
        };
        let Some(row) = table.row.take() else {
            return;
        };
        if row.iter().all(String::is_empty) {
            return;
        }
        let mut lines = vec![format!("| {} |", row.join(" | "))];
        if table.rows_emitted == 0 && table.header_row {
            lines.push(format!("|{}", " --- |".repeat(row.len())));
        }
        table.rows_emitted += 1;
        self.emit_lines(&lines);
    }
}
