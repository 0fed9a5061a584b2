//! The workspace's accounts as the binary manages them: the demo's four employees (one
//! per role, passwords made on first start and kept in `DATA/keys/`), and
//! `loket staff add` for a real municipality's accounts.

use std::path::Path;

use anyhow::Context;
use loket_store::{Database, StorageUrl};
use loket_web::werkplek::staff::{AccountError, SCHEMA};
use loket_web::werkplek::{Staff, staff_store};
use loket_zaken::werk::StaffRole;

/// The demo's employees: account, name, role.
pub const DEMO_STAFF: [(&str, &str, StaffRole); 4] = [
    ("m.jansen", "Mila Jansen", StaffRole::Behandelaar),
    ("s.bakker", "Sem Bakker", StaffRole::Kcc),
    ("p.devries", "Pien de Vries", StaffRole::Coordinator),
    ("a.smit", "Ahmed Smit", StaffRole::Beheerder),
];

pub const DEMO_PASSWORDS_FILE: &str = "werkplek-wachtwoorden.json";

/// Make sure the demo's employees exist; their passwords are in `keys/`.
pub async fn demo_accounts(storage: &StorageUrl, data: &Path) -> anyhow::Result<()> {
    let names: Vec<&str> = DEMO_STAFF.iter().map(|(id, _, _)| *id).collect();
    let passwords = crate::exchange::tokens(data, DEMO_PASSWORDS_FILE, &names)?;
    let database = Database::open(storage, &SCHEMA)
        .await
        .context("cannot open the workspace's database")?;
    let staff = Staff::new(staff_store(&database));
    // Hashing a password (argon2id: tens of milliseconds and 19 MiB each) only for an
    // account that is not there yet, not again at every start.
    let existing: Vec<String> = staff.accounts().await?.into_iter().map(|m| m.id).collect();
    for (id, naam, role) in DEMO_STAFF {
        if existing.iter().any(|known| known == id) {
            continue;
        }
        let password = passwords
            .get(id)
            .with_context(|| format!("no demo password for {id}"))?;
        match staff.add_account(id, naam, password, &[role]).await {
            Ok(()) | Err(AccountError::Exists) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct AddAccountArgs {
    /// The account name (lowercase letters, digits, dots, dashes), e.g. m.jansen.
    #[arg(long)]
    id: String,
    /// The employee's full name, as shown on cases.
    #[arg(long)]
    naam: String,
    /// A role (repeatable): behandelaar, kcc, coordinator, beheerder.
    #[arg(long = "rol", value_parser = parse_role, required = true)]
    rollen: Vec<StaffRole>,
    /// `sqlite:DIR` or `postgres://…`.
    #[arg(long, env = "LOKET_STORAGE")]
    storage: String,
}

fn parse_role(text: &str) -> Result<StaffRole, String> {
    StaffRole::parse(text)
        .ok_or_else(|| "a role is behandelaar, kcc, coordinator or beheerder".to_owned())
}

/// Add an account; the password comes from `LOKET_WACHTWOORD` or the first line of stdin,
/// never from the command line (where other users and the shell history would see it).
#[allow(clippy::print_stdout)]
pub async fn add_account(args: AddAccountArgs) -> anyhow::Result<()> {
    let password = match std::env::var("LOKET_WACHTWOORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let storage: StorageUrl = args.storage.parse().context("--storage")?;
    let database = Database::open(&storage, &SCHEMA).await?;
    let staff = Staff::new(staff_store(&database));
    staff
        .add_account(&args.id, &args.naam, &password, &args.rollen)
        .await?;
    println!("Account {} added.", args.id);
    Ok(())
}
