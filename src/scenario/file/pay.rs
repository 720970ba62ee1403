//! `invoice` and `pay`: invoices named for later steps, and payments by invoice name or by
//! keysend, validated against the nodes and invoices declared so far.
//!
//! An invoice is paid once: the node answers a second `pay` of a paid invoice with the first
//! payment's result and moves nothing, so `count` above 1 with `invoice` is refused here
//! rather than reported as payments that never happened. Several payments are keysends
//! (`to` + `amount-msat` + `count`), or one invoice per payment.

use toml::Spanned;

use super::{is_name, suggest, RawStep, Validator, NAME_RULE};
use crate::scenario::step::{group, Expect, PaySpec, PayWhat, Step, EXPECTS};

/// How long each payment may take when the step does not say (the node's own default).
pub(super) const DEFAULT_PAY_TIMEOUT_SECS: u64 = 60;

/// The most payments one `pay` step makes.
pub(super) const MAX_COUNT: u64 = 100_000;

/// An invoice known to the validator: who made it, what it asks, where.
pub(super) struct KnownInvoice {
    node: String,
    amount_msat: Option<u64>,
    line: usize,
}

/// A valid `amount-msat`.
#[derive(Clone, Copy)]
enum AmountKey {
    /// A number of msat.
    Msat(u64),
    /// `"any"` (invoices only).
    Any,
}

impl AmountKey {
    /// The amount, `None` for `"any"`.
    fn msat(self) -> Option<u64> {
        match self {
            AmountKey::Msat(n) => Some(n),
            AmountKey::Any => None,
        }
    }
}

impl Validator<'_> {
    pub(super) fn invoice(&mut self, raw: &RawStep) -> Option<Step> {
        let Some(node) = &raw.node else {
            return self.missing(raw, "node");
        };
        let Some(name) = &raw.name else {
            return self.missing(raw, "name");
        };
        let Some(amount) = &raw.amount_msat else {
            return self.missing(raw, "amount-msat");
        };
        let node = self.node(node)?;
        let amount_msat = self.amount(amount, true)?.msat();
        if !is_name(name.get_ref()) {
            self.error(name.span(), NAME_RULE);
            return None;
        }
        if let Some(earlier) = self.invoices.get(name.get_ref()) {
            let message = format!(
                "invoice name `{}` is already used (line {})",
                name.get_ref(),
                earlier.line
            );
            self.error(name.span(), message);
            return None;
        }
        let line = self.line_of(&raw.kind.span());
        self.invoices.insert(
            name.get_ref().clone(),
            KnownInvoice {
                node: node.clone(),
                amount_msat,
                line,
            },
        );
        Some(Step::Invoice {
            node,
            name: name.get_ref().clone(),
            amount_msat,
            description: raw.description.as_ref().map(|d| d.get_ref().clone()),
        })
    }

    pub(super) fn pay(&mut self, raw: &RawStep) -> Option<Step> {
        let Some(from) = &raw.from else {
            return self.missing(raw, "from");
        };
        let from = self.node(from)?;
        let count = match &raw.count {
            Some(c) if !(1..=MAX_COUNT).contains(c.get_ref()) => {
                let message = format!("`count` must be between 1 and {}", group(MAX_COUNT));
                self.error(c.span(), message);
                return None;
            }
            Some(c) => u32::try_from(*c.get_ref()).ok()?,
            None => 1,
        };
        let expect = match &raw.expect {
            Some(e) => self.expect(e)?,
            None => Expect::Success,
        };
        let timeout_secs = match &raw.timeout_secs {
            Some(t) if !(1..=3600).contains(t.get_ref()) => {
                self.error(t.span(), "`timeout-secs` must be between 1 and 3600");
                return None;
            }
            Some(t) => *t.get_ref(),
            None => DEFAULT_PAY_TIMEOUT_SECS,
        };
        let (to, what) = match (&raw.invoice, &raw.to) {
            (Some(invoice), None) => self.pay_invoice(raw, &from, invoice)?,
            (None, Some(to)) => {
                let to_name = self.node(to)?;
                if to_name == from {
                    self.error(to.span(), "a node cannot pay itself");
                    return None;
                }
                let Some(amount) = &raw.amount_msat else {
                    return self.missing(raw, "amount-msat");
                };
                let amount_msat = self.amount(amount, false)?.msat()?;
                (to_name, PayWhat::Keysend { amount_msat })
            }
            (Some(_), Some(to)) => {
                self.error(
                    to.span(),
                    "give `invoice` (pay it) or `to` (keysend), not both",
                );
                return None;
            }
            (None, None) => return self.missing(raw, "invoice` or `to"),
        };
        Some(Step::Pay(PaySpec {
            from,
            to,
            what,
            count,
            expect,
            timeout_secs,
        }))
    }

    /// The payee and what is paid for `invoice = "NAME"`.
    fn pay_invoice(
        &mut self,
        raw: &RawStep,
        from: &str,
        invoice: &Spanned<String>,
    ) -> Option<(String, PayWhat)> {
        let name = invoice.get_ref();
        let Some(known) = self.invoices.get(name) else {
            let mut names: Vec<&str> = self.invoices.keys().map(String::as_str).collect();
            names.sort_unstable();
            let message = match (suggest(name, &names), names.is_empty()) {
                (_, true) => format!("unknown invoice `{name}`: no earlier `invoice` step"),
                (Some(s), false) => format!("unknown invoice `{name}`; did you mean `{s}`?"),
                (None, false) => format!(
                    "unknown invoice `{name}`: no earlier `invoice` step names it (named so far: {})",
                    names.join(", ")
                ),
            };
            self.error(invoice.span(), message);
            return None;
        };
        let (payee, asks) = (known.node.clone(), known.amount_msat);
        if payee == from {
            let message = format!("`{from}` made `{name}`: a node cannot pay itself");
            self.error(invoice.span(), message);
            return None;
        }
        if let Some(c) = raw.count.as_ref().filter(|c| *c.get_ref() > 1) {
            self.error(
                c.span(),
                "an invoice is paid once (paying it again only answers the first result): \
                 use one invoice per payment, or `to` and `amount-msat` for keysends",
            );
            return None;
        }
        let amount_msat = match (asks, &raw.amount_msat) {
            (Some(_), None) => None,
            (None, Some(amount)) => self.amount(amount, false)?.msat(),
            (Some(msat), Some(amount)) => {
                let message = format!(
                    "`{name}` asks {} msat: `amount-msat` is for invoices of any amount",
                    group(msat)
                );
                self.error(amount.span(), message);
                return None;
            }
            (None, None) => {
                let message = format!("`{name}` is for any amount: give `amount-msat`");
                self.error(invoice.span(), message);
                return None;
            }
        };
        let what = PayWhat::Invoice {
            name: name.clone(),
            amount_msat,
        };
        Some((payee, what))
    }

    /// `amount-msat`: a number above 0, or (`any_ok`) `"any"`.
    fn amount(&mut self, value: &Spanned<toml::Value>, any_ok: bool) -> Option<AmountKey> {
        match value.get_ref() {
            toml::Value::Integer(n) if *n > 0 => u64::try_from(*n).ok().map(AmountKey::Msat),
            toml::Value::String(s) if any_ok && s == "any" => Some(AmountKey::Any),
            _ => {
                let rule = if any_ok {
                    "`amount-msat` is a number of msat above 0, or \"any\""
                } else {
                    "`amount-msat` is a number of msat above 0"
                };
                self.error(value.span(), rule);
                None
            }
        }
    }

    fn expect(&mut self, word: &Spanned<String>) -> Option<Expect> {
        match word.get_ref().as_str() {
            "success" => Some(Expect::Success),
            "failure" => Some(Expect::Failure),
            other => {
                let message = match suggest(other, EXPECTS) {
                    Some(s) => format!("unknown outcome `{other}`; did you mean `{s}`?"),
                    None => format!("unknown outcome `{other}` (expect: success, failure)"),
                };
                self.error(word.span(), message);
                None
            }
        }
    }
}
