//! What the generator and the personas hand to the registers: records for every
//! register, and the recent history each register's change feed starts with.

use loket_registers::NewMutatie;
use loket_registers::brp::PersonRecord;
use loket_registers::duo::Inschrijving;
use loket_registers::inkomen::Inkomenssituatie;
use loket_registers::rdw::Voertuig;
use loket_registers::reisdocumenten::Reisdocument;

/// Records for every register; a household, the personas, or a batch of many households.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    pub personen: Vec<PersonRecord>,
    pub reisdocumenten: Vec<Reisdocument>,
    pub voertuigen: Vec<Voertuig>,
    pub inschrijvingen: Vec<Inschrijving>,
    pub inkomenssituaties: Vec<Inkomenssituatie>,
    pub mutaties: Mutaties,
}

/// Recent events per register, for its change feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mutaties {
    pub brp: Vec<NewMutatie>,
    pub reisdocumenten: Vec<NewMutatie>,
    pub rdw: Vec<NewMutatie>,
    pub duo: Vec<NewMutatie>,
    pub inkomen: Vec<NewMutatie>,
}

impl Mutaties {
    pub fn extend(&mut self, other: Self) {
        self.brp.extend(other.brp);
        self.reisdocumenten.extend(other.reisdocumenten);
        self.rdw.extend(other.rdw);
        self.duo.extend(other.duo);
        self.inkomen.extend(other.inkomen);
    }

    /// In the order they happened, as a feed lists them.
    pub fn sort(&mut self) {
        for list in [
            &mut self.brp,
            &mut self.reisdocumenten,
            &mut self.rdw,
            &mut self.duo,
            &mut self.inkomen,
        ] {
            list.sort_by(|a, b| (a.tijdstip, &a.sleutel).cmp(&(b.tijdstip, &b.sleutel)));
        }
    }
}

impl Records {
    /// Move everything of `other` in, keeping `other`'s mutations too.
    pub fn append(&mut self, other: &mut Self) {
        self.personen.append(&mut other.personen);
        self.reisdocumenten.append(&mut other.reisdocumenten);
        self.voertuigen.append(&mut other.voertuigen);
        self.inschrijvingen.append(&mut other.inschrijvingen);
        self.inkomenssituaties.append(&mut other.inkomenssituaties);
        self.mutaties.extend(std::mem::take(&mut other.mutaties));
    }

    pub fn is_empty(&self) -> bool {
        self.personen.is_empty()
    }
}
