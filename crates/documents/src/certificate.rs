//! The certificate of completion (certificat de réalisation) of one learner for one course.
//!
//! It follows the French Ministry of Labour's model: the organisation (name, address, SIRET,
//! NDA), the person who signs for it, the learner and their company, the title and nature of
//! the action (the four natures listed, the right one ticked), the dates, the hours carried
//! out, the commitment to keep the evidence, the place and date of issue and the signature.

use crate::canvas::{self, Align, CONTENT_BOTTOM, Info, MARGIN, PAGE_WIDTH, Page, footer};
use crate::model::{ActionNature, CertificateInput};
use crate::signature;
use crate::text::{Block, Fonts, LEADING, Weight, fonts};
use crate::{DocumentError, format};

const WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const BODY: f32 = 10.0;
const LABEL_WIDTH: f32 = 150.0;

pub(crate) fn render(input: &CertificateInput) -> Result<Vec<u8>, DocumentError> {
    let fonts = fonts()?;
    let locale = input.locale;
    let signature = match &input.signatory.signature {
        Some(png) => Some(
            signature::prepare(png, signature::CERTIFICATE_PIXELS).map_err(|problem| DocumentError::Signature {
                who: input.signatory.name.clone(),
                problem,
            })?,
        ),
        None => None,
    };

    let mut flow = Flow {
        fonts,
        pages: Vec::new(),
        page: Page::default(),
        y: MARGIN,
    };

    // The organisation.
    let organisation = &input.organisation;
    flow.text(&organisation.name, Weight::Bold, 12.0, Align::Left);
    if let Some(address) = &organisation.address {
        flow.text(address, Weight::Regular, 8.5, Align::Left);
    }
    if let Some(siret) = &organisation.siret {
        flow.text(
            &locale.tf("documents.siret", &[("siret", siret)]),
            Weight::Regular,
            8.5,
            Align::Left,
        );
    }
    if let Some(nda) = &organisation.nda {
        flow.text(
            &locale.tf("documents.certificate.nda", &[("nda", nda)]),
            Weight::Regular,
            8.5,
            Align::Left,
        );
    }

    // The title.
    flow.y += 28.0;
    flow.text(
        locale.t("documents.certificate.title"),
        Weight::Bold,
        18.0,
        Align::Center,
    );
    flow.text(
        locale.t("documents.certificate.subtitle"),
        Weight::Regular,
        8.5,
        Align::Center,
    );
    flow.y += 22.0;

    // The statement and its fields.
    let statement = locale.tf(
        "documents.certificate.statement",
        &[
            ("signatory", &input.signatory.name),
            ("role", &input.signatory.role),
            ("organisation", &organisation.name),
        ],
    );
    flow.text(&statement, Weight::Regular, BODY, Align::Left);
    flow.y += 10.0;
    flow.field(locale.t("documents.certificate.learner"), &input.learner);
    if let Some(company) = &input.company {
        flow.field(locale.t("documents.certificate.company"), company);
    }
    flow.field(locale.t("documents.certificate.course"), &input.course_title);
    let natures: Vec<String> = ActionNature::ALL
        .iter()
        .map(|nature| {
            let mark = if *nature == input.nature { "☒" } else { "☐" };
            format!("{mark} {}", nature.label(locale))
        })
        .collect();
    flow.field(locale.t("documents.certificate.nature"), &natures.join("\n"));
    flow.field(
        locale.t("documents.certificate.dates"),
        &locale.tf(
            "documents.certificate.dates_value",
            &[
                ("from", &format::date(input.first_day, locale)),
                ("to", &format::date(input.last_day, locale)),
            ],
        ),
    );
    flow.field(
        locale.t("documents.certificate.duration"),
        &format::duration(input.completed_minutes, locale),
    );
    flow.y += 14.0;
    flow.text(
        locale.t("documents.certificate.retention"),
        Weight::Regular,
        8.0,
        Align::Left,
    );
    flow.y += 14.0;
    flow.text(
        &locale.tf(
            "documents.certificate.issued",
            &[
                ("place", &input.place),
                ("date", &format::date(input.issued_on, locale)),
            ],
        ),
        Weight::Regular,
        BODY,
        Align::Left,
    );
    flow.y += 10.0;

    // The signature area, on the right.
    let box_width = 260.0;
    let x = PAGE_WIDTH - MARGIN - box_width;
    let inner = box_width - 16.0;
    let heading = fonts.fit(
        locale.t("documents.certificate.signature"),
        Weight::Bold,
        8.0,
        6.0,
        inner,
        3,
    );
    let signer = fonts.fit(
        &format!("{}, {}", input.signatory.name, input.signatory.role),
        Weight::Regular,
        9.0,
        6.0,
        inner,
        3,
    );
    let image_height = 60.0;
    let height = 8.0 + heading.height() + 6.0 + image_height + 6.0 + signer.height() + 8.0;
    flow.ensure(height);
    let top = flow.y;
    flow.page.frame(x, top, box_width, height, 0.8);
    let mut y = top + 8.0;
    y += flow.page.block(heading, x + 8.0, y, inner, Align::Left) + 6.0;
    if let Some(signature) = signature {
        flow.page
            .image(signature.image, signature.pixels, x + 8.0, y, inner, image_height);
    }
    y += image_height + 6.0;
    flow.page.block(signer, x + 8.0, y, inner, Align::Left);
    flow.y = top + height;

    let mut pages = flow.finish();
    let total = pages.len();
    let left = format!(
        "{} · {} · {}",
        locale.t("documents.certificate.title_short"),
        input.learner,
        input.course_title
    );
    for (i, page) in pages.iter_mut().enumerate() {
        footer(fonts, page, &left, locale, i + 1, total);
    }
    canvas::render(
        fonts,
        pages,
        Info {
            title: format!(
                "{} — {} — {}",
                locale.t("documents.certificate.title_short"),
                input.learner,
                input.course_title
            ),
            language: locale.as_str(),
        },
    )
}

/// Top-to-bottom text that continues on a new page when the page is full.
struct Flow<'a> {
    fonts: &'a Fonts,
    pages: Vec<Page>,
    page: Page,
    y: f32,
}

impl Flow<'_> {
    fn ensure(&mut self, height: f32) {
        if self.y + height > CONTENT_BOTTOM {
            self.pages.push(std::mem::take(&mut self.page));
            self.y = MARGIN;
        }
    }

    /// A paragraph across the page, line by line.
    fn text(&mut self, text: &str, weight: Weight, size: f32, align: Align) {
        for line in self.fonts.wrap(text, weight, size, WIDTH) {
            self.ensure(size * LEADING);
            self.page.line(line, size, MARGIN, self.y, WIDTH, align);
            self.y += size * LEADING;
        }
    }

    /// A label and its value side by side, kept together.
    fn field(&mut self, label: &str, value: &str) {
        let value_width = WIDTH - LABEL_WIDTH;
        let label = Block {
            lines: self.fonts.wrap(label, Weight::Bold, 9.5, LABEL_WIDTH - 10.0),
            size: 9.5,
        };
        let value = Block {
            lines: self.fonts.wrap(value, Weight::Regular, BODY, value_width),
            size: BODY,
        };
        let height = label.height().max(value.height());
        self.ensure(height);
        let top = self.y;
        self.page
            .block(label, MARGIN, top + 0.5, LABEL_WIDTH - 10.0, Align::Left);
        self.page
            .block(value, MARGIN + LABEL_WIDTH, top, value_width, Align::Left);
        self.y = top + height + 6.0;
    }

    fn finish(mut self) -> Vec<Page> {
        self.pages.push(self.page);
        self.pages
    }
}
