//! Applying for a product: check what the resident filled in, ask the registers through
//! the exchange under the product's processing activity, decide, and open the case with
//! its decision in one transaction.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use loket_core::{Bsn, Clock, Kenteken, TraceContext};
use loket_http::{OutgoingClient, json_answer};
use loket_store::StoreError;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::case_writer::CaseWriter;

use crate::ZaakStore;
use crate::berichten;
use crate::bijlage::{Bijlage, Upload};
use crate::catalogue::{Catalogue, DataNeed, Product, QuestionKind, Text};
use crate::decision::{AUTOMATIC, DataUsed, DecisionRecord, decide};
use crate::rules::Inputs;
use crate::zaak::{NewRol, NewStatus, NewZaak, Outcome, Zaak, statustype};

/// The municipality the process layer works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gemeente {
    /// The four-digit CBS code, as the BRP gives `gemeenteVanInschrijving`.
    pub code: String,
    pub naam: String,
    /// The RSIN that is `bronorganisatie` of its cases.
    pub rsin: String,
}

/// The municipality's outway: the only way the process layer reaches a register.
#[derive(Debug, Clone)]
pub struct Exchange {
    client: OutgoingClient,
    outway: String,
}

impl Exchange {
    pub fn new(outway: &str) -> Result<Self, loket_http::ClientBuildError> {
        Ok(Self {
            client: OutgoingClient::new(Duration::from_secs(10))?,
            outway: outway.trim_end_matches('/').to_owned(),
        })
    }

    /// Ask for `need` about `bsn`. A failure is kept as the reason, not raised: the
    /// rules then cannot decide and a person looks at the case.
    pub async fn ask(
        &self,
        need: &DataNeed,
        bsn: &str,
        activity: Option<&str>,
        parent: &TraceContext,
    ) -> DataUsed {
        let url = format!("{}/{}{}", self.outway, need.dienst, need.pad);
        let (request, span) = self.client.post(&url, parent);
        let request = request
            .header("fsc-processing-activity", activity.unwrap_or_default())
            .json(&need.request_for(bsn));
        let (waarden, fout) = match request.send().await {
            Ok(response) if response.status().is_success() => match json_answer(response).await {
                Ok(value) => (Some(value), None),
                Err(error) => (None, Some(format!("unreadable answer: {error}"))),
            },
            Ok(response) => {
                let code = response
                    .headers()
                    .get("fsc-error-code")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let status = response.status().as_u16();
                (
                    None,
                    Some(code.map_or_else(
                        || format!("HTTP {status}"),
                        |c| format!("HTTP {status} {c}"),
                    )),
                )
            }
            Err(error) => (None, Some(format!("unreachable: {error}"))),
        };
        DataUsed {
            naam: need.naam.clone(),
            bron: need.bron.clone(),
            dienst: need.dienst.clone(),
            verwerkingsactiviteit: activity.map(str::to_owned),
            trace_id: span.trace_id.to_string(),
            span_id: span.span_id.to_string(),
            waarden,
            fout,
        }
    }
}

/// What is known before applying, and the fee it gives.
#[derive(Debug, Clone)]
pub struct Preview {
    pub known: Vec<DataUsed>,
    pub tarief: Option<crate::rules::FeeTrace>,
}

/// A question the resident answered wrongly, for the form's error summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError {
    pub field: String,
    pub message: Text,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("there is no product {0}")]
    UnknownProduct(String),
    #[error("{} answer(s) need correcting", .0.len())]
    Answers(Vec<AnswerError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Turn a form's answers into the values the rules read, or say what is wrong with each.
pub fn check_answers(
    product: &Product,
    form: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<AnswerError>> {
    let mut answers = Map::new();
    let mut errors = Vec::new();
    for question in &product.vragen {
        let given = form.get(&question.naam);
        let text = given
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let value = match question.soort {
            QuestionKind::Kenteken => match Kenteken::parse(text) {
                Ok(kenteken) => Ok(Value::String(kenteken.as_str().to_owned())),
                Err(_) if text.is_empty() => Err(Text {
                    nl: "Vul het kenteken in.".to_owned(),
                    en: "Enter the registration number.".to_owned(),
                }),
                Err(_) => Err(Text {
                    nl: "Een kenteken heeft 6 letters en cijfers, bijvoorbeeld 34-GBV-7."
                        .to_owned(),
                    en: "A registration number has 6 letters and digits, for example 34-GBV-7."
                        .to_owned(),
                }),
            },
            QuestionKind::JaNee => match (given, text) {
                (Some(Value::Bool(b)), _) => Ok(Value::Bool(*b)),
                (_, "ja" | "true") => Ok(Value::Bool(true)),
                (_, "nee" | "false") => Ok(Value::Bool(false)),
                _ => Err(Text {
                    nl: "Kies ja of nee.".to_owned(),
                    en: "Choose yes or no.".to_owned(),
                }),
            },
            QuestionKind::Tekst if text.chars().count() > 2000 => Err(Text {
                nl: "Gebruik niet meer dan 2000 tekens.".to_owned(),
                en: "Use no more than 2000 characters.".to_owned(),
            }),
            QuestionKind::Tekst => Ok(Value::String(text.to_owned())),
        };
        match value {
            Ok(value) => {
                answers.insert(question.naam.clone(), value);
            }
            Err(message) => errors.push(AnswerError {
                field: question.naam.clone(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(errors)
    }
}

/// One application, as the portal (or the counter) hands it over.
#[derive(Debug, Clone)]
pub struct Application {
    pub product: String,
    pub applicant: Bsn,
    /// The form's answers by question name, as typed.
    pub form: Map<String, Value>,
    /// The files added, as they arrived.
    pub uploads: Vec<Upload>,
}

/// Check the files against the product's attachments and the answers: each needed one is
/// there, none is unknown or given twice, each is a file Loket accepts.
pub fn check_uploads(
    product: &Product,
    answers: &Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<Vec<Bijlage>, Vec<AnswerError>> {
    let mut errors = Vec::new();
    let mut bijlagen: Vec<Bijlage> = Vec::new();
    for upload in uploads {
        let field = upload.naam.clone();
        if !product.bijlagen.iter().any(|a| a.naam == field) {
            errors.push(AnswerError {
                field,
                message: Text {
                    nl: "Dit bestand hoort niet bij deze aanvraag.".to_owned(),
                    en: "This file does not belong to this application.".to_owned(),
                },
            });
        } else if bijlagen.iter().any(|b| b.naam == field) {
            errors.push(AnswerError {
                field,
                message: Text {
                    nl: "Voeg één bestand toe.".to_owned(),
                    en: "Add one file.".to_owned(),
                },
            });
        } else {
            match Bijlage::parse(upload) {
                Ok(bijlage) => bijlagen.push(bijlage),
                Err(message) => errors.push(AnswerError { field, message }),
            }
        }
    }
    for attachment in &product.bijlagen {
        let needed = attachment
            .nodig_als
            .as_ref()
            .is_none_or(|question| answers.get(question) == Some(&Value::Bool(true)));
        let given = bijlagen.iter().any(|b| b.naam == attachment.naam);
        let refused = errors.iter().any(|e| e.field == attachment.naam);
        if needed && !given && !refused {
            errors.push(AnswerError {
                field: attachment.naam.clone(),
                message: Text {
                    nl: format!("Voeg dit bestand toe: {}.", attachment.omschrijving.nl),
                    en: format!("Add this file: {}.", attachment.omschrijving.en),
                },
            });
        }
    }
    if errors.is_empty() {
        Ok(bijlagen)
    } else {
        Err(errors)
    }
}

/// The process: catalogue, cases and the way to the registers.
#[derive(Debug, Clone)]
pub struct Applications {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalogue: Arc<Catalogue>,
    store: Arc<dyn ZaakStore>,
    exchange: Exchange,
    gemeente: Gemeente,
    clock: Arc<dyn Clock>,
    /// Counting the permits at an address and adding one must not interleave with
    /// another application for the same address: one lock per stripe of addresses,
    /// held until the new case is committed.
    stripes: Vec<Arc<Mutex<()>>>,
    /// Started on first use, on the runtime that applies.
    writer: std::sync::OnceLock<CaseWriter>,
}

const STRIPES: usize = 64;

impl Applications {
    pub fn new(
        catalogue: Arc<Catalogue>,
        store: Arc<dyn ZaakStore>,
        exchange: Exchange,
        gemeente: Gemeente,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                catalogue,
                store,
                exchange,
                gemeente,
                clock,
                stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
                writer: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    pub fn store(&self) -> &Arc<dyn ZaakStore> {
        &self.inner.store
    }

    /// Everything the registers say for `product` about `bsn`, to show the resident what
    /// is already known before they apply (once only).
    pub async fn known(&self, product: &Product, bsn: &Bsn, trace: &TraceContext) -> Vec<DataUsed> {
        let asks = product.gegevens.iter().map(|need| {
            self.inner.exchange.ask(
                need,
                bsn.as_str(),
                product.verwerkingsactiviteit.as_deref(),
                trace,
            )
        });
        futures::future::join_all(asks).await
    }

    /// What the resident sees before applying: what the registers already say (once
    /// only) and the fee that would apply with it, with the row of the fee table that
    /// sets it (the waiver for a low income included).
    pub async fn preview(&self, product: &Product, bsn: &Bsn, trace: &TraceContext) -> Preview {
        let known = self.known(product, bsn, trace).await;
        let inputs = self.inputs(product, Map::new(), &known);
        let tarief = product
            .regels
            .as_ref()
            .and_then(|rules| rules.fee(&inputs).ok())
            .flatten();
        Preview { known, tarief }
    }

    /// Decide and open the case.
    pub async fn apply(
        &self,
        application: &Application,
        trace: &TraceContext,
    ) -> Result<Zaak, ApplyError> {
        let inner = &self.inner;
        let product = inner
            .catalogue
            .product(&application.product)
            .ok_or_else(|| ApplyError::UnknownProduct(application.product.clone()))?;
        // Every mistake at once, the questions' first, as the form lists them.
        let answers = check_answers(product, &application.form);
        let empty = Map::new();
        let bijlagen = check_uploads(
            product,
            answers.as_ref().unwrap_or(&empty),
            application.uploads.clone(),
        );
        let (answers, bijlagen) = match (answers, bijlagen) {
            (Ok(answers), Ok(bijlagen)) => (answers, bijlagen),
            (answers, bijlagen) => {
                let mut errors = answers.err().unwrap_or_default();
                errors.extend(bijlagen.err().unwrap_or_default());
                return Err(ApplyError::Answers(errors));
            }
        };
        let data = self.known(product, &application.applicant, trace).await;
        let mut inputs = self.inputs(product, answers, &data);
        let object = product
            .zaakobject
            .as_ref()
            .and_then(|e| e.evaluate(&inputs).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        let guard = match &object {
            Some(object) => Some(inner.stripes[stripe(object)].clone().lock_owned().await),
            None => None,
        };
        let existing = match &object {
            Some(object) => {
                inner
                    .store
                    .count_about(&product.id, object, Outcome::Toegekend)
                    .await?
            }
            None => 0,
        };
        inputs.insert("bestaand", json!({ "op_adres": existing }));
        let record = decide(product, &inputs, data);
        let mut new = self.new_zaak(product, &application.applicant, object, &record);
        new.documenten = bijlagen;
        let writer = inner
            .writer
            .get_or_init(|| CaseWriter::start(inner.store.clone(), inner.clock.clone()));
        Ok(writer.create(new, guard).await?)
    }

    fn inputs(&self, product: &Product, answers: Map<String, Value>, data: &[DataUsed]) -> Inputs {
        let gemeente = &self.inner.gemeente;
        let mut inputs = Inputs::default();
        for used in data {
            if let Some(value) = &used.waarden {
                inputs.insert(&used.naam, value.clone());
            }
        }
        inputs.insert("aanvraag", Value::Object(answers));
        inputs.insert("parameters", Value::Object(product.parameters.clone()));
        inputs.insert(
            "gemeente",
            json!({"code": gemeente.code, "naam": gemeente.naam}),
        );
        if let Some(fee) = &product.tarief {
            inputs.insert(
                "tarief",
                json!({"bedrag_centen": fee.bedrag_centen, "per": fee.per}),
            );
        }
        inputs
    }

    fn new_zaak(
        &self,
        product: &Product,
        applicant: &Bsn,
        zaakobject: Option<String>,
        record: &DecisionRecord,
    ) -> NewZaak {
        let now = self.inner.clock.now();
        let mut statuses = vec![NewStatus {
            statustype: statustype::ONTVANGEN.to_owned(),
            datum_status_gezet: now,
            actor: "Mijn Loket".to_owned(),
            toelichting: "Aanvraag ontvangen".to_owned(),
        }];
        let resultaat = match record.uitkomst {
            Outcome::Toegekend | Outcome::Afgewezen => {
                statuses.push(NewStatus {
                    statustype: statustype::AFGEHANDELD.to_owned(),
                    datum_status_gezet: now,
                    actor: AUTOMATIC.to_owned(),
                    toelichting: record.uitleg.nl.clone(),
                });
                Some((
                    record.uitkomst.as_str().to_owned(),
                    record.uitleg.nl.clone(),
                ))
            }
            Outcome::Behandelaar => None,
        };
        let letter = match record.uitkomst {
            Outcome::Toegekend | Outcome::Afgewezen => {
                berichten::decision_letter(product, record, applicant.as_str())
            }
            Outcome::Behandelaar => berichten::received_letter(
                product,
                loket_core::dutch_time(now).date()
                    + time::Duration::days(i64::from(product.behandeltermijn_dagen)),
                applicant.as_str(),
            ),
        };
        NewZaak {
            bronorganisatie: self.inner.gemeente.rsin.clone(),
            zaaktype: product.id.clone(),
            omschrijving: format!("Aanvraag {}", product.naam.nl.to_lowercase()),
            registratiedatum: loket_core::dutch_time(now).date(),
            startdatum: None,
            behandeltermijn_dagen: product.behandeltermijn_dagen,
            zaakobject,
            initiator: Some(NewRol::initiator(applicant.as_str())),
            statuses,
            besluit: Some((
                record.uitkomst,
                serde_json::to_value(record).unwrap_or(Value::Null),
            )),
            resultaat,
            documenten: Vec::new(),
            audit: None,
            berichten: vec![letter],
        }
    }
}

fn stripe(object: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    object.hash(&mut hasher);
    usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalogue::repository_permit as permit;

    fn answers(lease: bool) -> Map<String, Value> {
        let mut answers = Map::new();
        answers.insert("kenteken".to_owned(), Value::from("34GBV7"));
        answers.insert("leaseverklaring".to_owned(), Value::Bool(lease));
        answers
    }

    fn upload(naam: &str, content: &[u8]) -> Upload {
        Upload {
            naam: naam.to_owned(),
            bestandsnaam: "lease.pdf".to_owned(),
            inhoud: content.to_vec(),
        }
    }

    const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";

    #[test]
    fn a_lease_car_needs_the_statement() {
        let product = permit();
        let errors = check_uploads(&product, &answers(true), Vec::new()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "leasedocument");
        assert!(errors[0].message.nl.starts_with("Voeg dit bestand toe"));
        let kept =
            check_uploads(&product, &answers(true), vec![upload("leasedocument", PDF)]).unwrap();
        assert_eq!(kept[0].soort, crate::bijlage::Soort::Pdf);
        assert!(
            check_uploads(&product, &answers(false), Vec::new())
                .unwrap()
                .is_empty(),
            "one's own car needs no statement"
        );
    }

    #[test]
    fn unknown_twice_or_unreadable_files_are_refused_by_field() {
        let product = permit();
        let fields = |uploads| {
            check_uploads(&product, &answers(true), uploads)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(vec![upload("paspoort", PDF)]),
            vec!["paspoort", "leasedocument"]
        );
        assert_eq!(
            fields(vec![
                upload("leasedocument", PDF),
                upload("leasedocument", PDF)
            ]),
            vec!["leasedocument"]
        );
        assert_eq!(
            fields(vec![upload("leasedocument", b"MZ\x90\x00")]),
            vec!["leasedocument"],
            "a program is not a statement, and is reported once"
        );
    }
}
