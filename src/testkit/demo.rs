//! A demo mailbox written by us: a recruiter, a colleague and a dozen candidates in every state.
//!
//! Jane Doe (Talent Partner at agency.example) follows candidates; her own mail lives in `Sent`,
//! everything she received in `INBOX`. Dates are business days before `today` (Europe/Berlin),
//! so the states (overdue, follow-up due, closure due, ...) hold whenever the demo is seeded.

use jiff::ZonedDateTime;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use super::SeedMessage;

/// The recruiter whose mailbox this is.
pub const RECRUITER: &str = "jane@agency.example";
/// Other demo users who get an inbox of their own (the colleague and candidates on local domains).
pub const OTHER_USERS: &[&str] = &[
    "tom@agency.example",
    "alice.martin@candidates.example",
    "chen.wei@candidates.example",
    "erik.larsen@candidates.example",
    "hannah.weber@candidates.example",
    "julia.novak@candidates.example",
    "mark.evans@client.example",
];

const JANE: &str = "Jane Doe <jane@agency.example>";
const SIGNATURE: &str = "Best regards,\nJane Doe\nTalent Partner, Agency Example\n";

/// The whole demo mailbox as (folder, message) pairs, oldest first within each conversation.
pub fn demo_mailbox(today: Date) -> Vec<(String, SeedMessage)> {
    let mut demo = Demo {
        today,
        out: Vec::new(),
    };
    demo.waiting_on_jane();
    demo.quiet_after_question();
    demo.quiet_after_one_follow_up();
    demo.closure_due();
    demo.cold_outreach();
    demo.out_of_office();
    demo.bounced();
    demo.asks_to_stop();
    demo.active_conversation();
    demo.second_address();
    demo.call_scheduled();
    demo.mailing_list();
    demo.job_board_notification();
    demo.client_and_colleague();
    demo.out
}

struct Demo {
    today: Date,
    out: Vec<(String, SeedMessage)>,
}

/// One message of the demo, before rendering.
struct Mail<'a> {
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    /// Local part of the Message-ID; the domain is the sender's.
    id: &'a str,
    /// The Message-IDs this one answers, oldest first (References; the last is In-Reply-To).
    parents: &'a [&'a str],
    at: ZonedDateTime,
    body: &'a str,
    extra_headers: &'a [(&'a str, &'a str)],
}

impl Demo {
    /// `days` business days before today at `hour:minute`, Berlin time.
    fn at(&self, days: u32, hour: i8, minute: i8) -> ZonedDateTime {
        let mut date = self.today;
        let mut left = days;
        while left > 0 {
            // Past jiff's minimum date the demo simply stops going back.
            date = date.yesterday().unwrap_or(date);
            if !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
                left -= 1;
            }
            if date == Date::MIN {
                break;
            }
        }
        let civil = date.at(hour, minute, 0, 0);
        civil
            .in_tz("Europe/Berlin")
            .unwrap_or_else(|_| civil.to_zoned_datetime(TimeZone::UTC).unwrap_or_default())
    }

    /// The full Message-ID (with brackets) of a local part sent by `from`.
    fn id(&self, local: &str, from: &str) -> String {
        let domain = from
            .rsplit_once('@')
            .map(|(_, domain)| domain.trim_end_matches('>'))
            .unwrap_or("agency.example");
        format!("<{}.{local}@{domain}>", self.today.strftime("%Y%m%d"))
    }

    fn push(&mut self, mail: Mail<'_>) {
        let folder = if mail.from == JANE { "Sent" } else { "INBOX" };
        let ids: Vec<String> = mail.parents.iter().map(|id| id.to_string()).collect();
        let mut head = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: {}\r\n",
            mail.from,
            mail.to,
            mail.subject,
            jiff::fmt::rfc2822::to_string(&mail.at).unwrap_or_default(),
            self.id(mail.id, mail.from),
        );
        if let Some(parent) = ids.last() {
            head.push_str(&format!(
                "In-Reply-To: {parent}\r\nReferences: {}\r\n",
                ids.join(" ")
            ));
        }
        for (name, value) in mail.extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !mail
            .extra_headers
            .iter()
            .any(|(name, _)| *name == "Content-Type")
        {
            head.push_str(
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: 8bit\r\n",
            );
        }
        let raw = format!("{head}\r\n{}", mail.body.replace('\n', "\r\n")).into_bytes();
        // Jane has read everything older than today; her own mail is seen by definition.
        let seen =
            folder == "Sent" || mail.at.date() < self.today.yesterday().unwrap_or(self.today);
        let message = SeedMessage {
            raw,
            internal_date: mail.at.timestamp(),
            flags: if seen { "S".to_owned() } else { String::new() },
        };
        self.out.push((folder.to_owned(), message));
    }

    /// Jane's message `id` to `to`, answering `parents`.
    fn jane(
        &mut self,
        to: &str,
        subject: &str,
        id: &str,
        parents: &[&str],
        at: ZonedDateTime,
        body: &str,
    ) {
        let body = format!("{body}\n{SIGNATURE}");
        self.push(Mail {
            from: JANE,
            to,
            subject,
            id,
            parents,
            at,
            body: &body,
            extra_headers: &[],
        });
    }

    /// A follow-up candor sent for Jane earlier (it carries `X-Candor`, so it counts as one).
    #[allow(clippy::too_many_arguments)]
    fn candor_follow_up(
        &mut self,
        kind: &str,
        to: &str,
        subject: &str,
        id: &str,
        parents: &[&str],
        at: ZonedDateTime,
        body: &str,
    ) {
        let body = format!("{body}\n{SIGNATURE}");
        let mark = format!("kind={kind}; account=jane");
        self.push(Mail {
            from: JANE,
            to,
            subject,
            id,
            parents,
            at,
            body: &body,
            extra_headers: &[
                ("X-Candor", &mark),
                ("X-Auto-Response-Suppress", "OOF, AutoReply"),
            ],
        });
    }

    fn reply(
        &mut self,
        from: &str,
        subject: &str,
        id: &str,
        parents: &[&str],
        at: ZonedDateTime,
        body: &str,
    ) {
        self.push(Mail {
            from,
            to: JANE,
            subject,
            id,
            parents,
            at,
            body,
            extra_headers: &[],
        });
    }

    fn waiting_on_jane(&mut self) {
        let alice = "Alice Martin <alice.martin@candidates.example>";
        let first = self.id("alice.1", JANE);
        self.jane(alice, "Senior Backend Engineer at a fintech client", "alice.1", &[], self.at(9, 10, 5),
            "Hello Alice,\n\nI came across your talk on event sourcing and think you would be a great fit \
             for a Senior Backend Engineer role at one of our fintech clients (Rust and Postgres, hybrid \
             in Berlin).\n\nWould you be open to a short call to hear more?\n");
        self.reply(alice, "Re: Senior Backend Engineer at a fintech client", "alice.2", &[&first], self.at(4, 18, 40),
            "Hello Jane,\n\nThank you for thinking of me. The role sounds interesting. Could you share the \
             salary range and how many days a week are expected in the office? Then I am happy to talk.\n\n\
             Kind regards,\nAlice\n");
    }

    fn quiet_after_question(&mut self) {
        let bruno = "Bruno Silva <bruno@silva.example>";
        let first = self.id("bruno.1", JANE);
        let second = self.id("bruno.2", bruno);
        self.jane(bruno, "Platform Engineer role", "bruno.1", &[], self.at(12, 9, 30),
            "Hi Bruno,\n\nI am recruiting a Platform Engineer for a logistics company in Hamburg. Your \
             Kubernetes background matches what they need. Interested in hearing more?\n");
        self.reply(bruno, "Re: Platform Engineer role", "bruno.2", &[&first], self.at(11, 13, 2),
            "Hi Jane,\n\nYes, happy to hear more. Remote would be ideal for me.\n\nCheers,\nBruno\n");
        self.jane(bruno, "Re: Platform Engineer role", "bruno.3", &[&first, &second], self.at(7, 11, 15),
            "Hi Bruno,\n\nGreat to hear. They offer two remote weeks per month. Could you share your \
             availability for a 30-minute call with the hiring manager next week?\n");
    }

    fn quiet_after_one_follow_up(&mut self) {
        let chen = "Chen Wei <chen.wei@candidates.example>";
        let first = self.id("chen.1", JANE);
        self.jane(chen, "Data Engineer opportunity", "chen.1", &[], self.at(14, 10, 0),
            "Hello Chen,\n\nA data platform team in Munich is hiring a Data Engineer (Spark, Airflow). \
             Would you like to know more?\n");
        self.candor_follow_up("follow_up_1", chen, "Re: Data Engineer opportunity", "chen.2", &[&first], self.at(8, 10, 20),
            "Hello Chen,\n\nJust bringing my note below back to the top of your inbox, in case it got \
             buried. No pressure at all if the timing is not right.\n");
    }

    fn closure_due(&mut self) {
        let dana = "Dana Kowalski <dana@kowalski.example>";
        let ids: Vec<String> = ["dana.1", "dana.2", "dana.3", "dana.4"]
            .iter()
            .enumerate()
            .map(|(n, id)| self.id(id, if n == 1 { dana } else { JANE }))
            .collect();
        let [one, two, three, four] = [&ids[0], &ids[1], &ids[2], &ids[3]].map(String::as_str);
        self.jane(dana, "Engineering Manager search", "dana.1", &[], self.at(25, 9, 45),
            "Hi Dana,\n\nWe are helping a health-tech scale-up find an Engineering Manager for a team of \
             eight. Would that be of interest?\n");
        self.reply(dana, "Re: Engineering Manager search", "dana.2", &[one], self.at(24, 20, 10),
            "Hi Jane,\n\nPossibly. Can you tell me more about the team and the product?\n\nBest,\nDana\n");
        self.jane(dana, "Re: Engineering Manager search", "dana.3", &[one, two], self.at(22, 14, 0),
            "Hi Dana,\n\nThe team builds the patient app (Kotlin and Go). Would Tuesday or Wednesday \
             suit you for a first conversation?\n");
        self.candor_follow_up(
            "follow_up_1",
            dana,
            "Re: Engineering Manager search",
            "dana.4",
            &[one, two, three],
            self.at(16, 9, 5),
            "Hi Dana,\n\nA gentle follow-up on my question about a first conversation.\n",
        );
        self.candor_follow_up("follow_up_2", dana, "Re: Engineering Manager search", "dana.5", &[one, two, three, four], self.at(9, 9, 10),
            "Hi Dana,\n\nI do not want to crowd your inbox. Should I keep you in mind for future roles \
             instead?\n");
    }

    fn cold_outreach(&mut self) {
        self.jane(
            "Erik Larsen <erik.larsen@candidates.example>",
            "Frontend Lead in Copenhagen",
            "erik.1",
            &[],
            self.at(3, 15, 30),
            "Hello Erik,\n\nI am working on a Frontend Lead role (TypeScript, design systems) in \
             Copenhagen. Would you be open to a brief chat?\n",
        );
    }

    fn out_of_office(&mut self) {
        let fatima = "Fatima Haddad <fatima.haddad@haddad.example>";
        let first = self.id("fatima.1", JANE);
        self.jane(fatima, "Security Engineer role", "fatima.1", &[], self.at(2, 9, 0),
            "Hello Fatima,\n\nA payments company is hiring a Security Engineer. Your work on threat \
             modelling stood out to me. Would you like to hear more?\n");
        let back = self.at(0, 8, 0).date().tomorrow().unwrap_or(self.today);
        let back = back
            .tomorrow()
            .unwrap_or(back)
            .strftime("%d.%m.%Y")
            .to_string();
        let body = format!(
            "Guten Tag,\n\nvielen Dank für Ihre Nachricht. Ich bin bis einschließlich {back} nicht im Büro \
             und habe nur eingeschränkt Zugriff auf meine E-Mails. Ab dem {back} bin ich wieder für Sie \
             erreichbar.\n\nMit freundlichen Grüßen\nFatima Haddad\n"
        );
        self.push(Mail {
            from: fatima,
            to: JANE,
            subject: "Abwesenheitsnotiz: Security Engineer role",
            id: "fatima.ooo",
            parents: &[&first],
            at: self.at(2, 9, 1),
            body: &body,
            extra_headers: &[("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")],
        });
    }

    fn bounced(&mut self) {
        let to = "gregory.olsen@candidates.example";
        let first = self.id("greg.1", JANE);
        self.jane(&format!("Gregory Olsen <{to}>"), "QA Automation role", "greg.1", &[], self.at(5, 10, 40),
            "Hello Gregory,\n\nWould you be interested in a QA Automation role (Playwright, Python) \
             with a travel platform in Berlin?\n");
        let at = self.at(5, 10, 41);
        let date = jiff::fmt::rfc2822::to_string(&at).unwrap_or_default();
        let body = format!(
            "This is a MIME-encapsulated message.\n\n--bounce-boundary\n\
             Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n\
             I'm sorry to have to inform you that your message could not\nbe delivered to one or more \
             recipients.\n\n<{to}>: host mx.candidates.example said: 550 5.1.1\n    <{to}>: Recipient \
             address rejected: User unknown\n\n--bounce-boundary\n\
             Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n\
             Reporting-MTA: dns; mail.agency.example\nArrival-Date: {date}\n\n\
             Final-Recipient: rfc822; {to}\nOriginal-Recipient: rfc822;{to}\nAction: failed\n\
             Status: 5.1.1\nRemote-MTA: dns; mx.candidates.example\n\
             Diagnostic-Code: smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown\n\n\
             --bounce-boundary\nContent-Description: Undelivered Message Headers\n\
             Content-Type: text/rfc822-headers\n\nFrom: {JANE}\nTo: Gregory Olsen <{to}>\n\
             Subject: QA Automation role\nMessage-ID: {first}\n\n--bounce-boundary--\n"
        );
        self.push(Mail {
            from: "Mail Delivery System <MAILER-DAEMON@agency.example>",
            to: JANE,
            subject: "Undelivered Mail Returned to Sender",
            id: "greg.dsn",
            parents: &[],
            at,
            body: &body,
            extra_headers: &[
                ("Auto-Submitted", "auto-replied"),
                ("MIME-Version", "1.0"),
                (
                    "Content-Type",
                    "multipart/report; report-type=delivery-status; boundary=\"bounce-boundary\"",
                ),
            ],
        });
    }

    fn asks_to_stop(&mut self) {
        let hannah = "Hannah Weber <hannah.weber@candidates.example>";
        let first = self.id("hannah.1", JANE);
        self.jane(hannah, "Product Designer role", "hannah.1", &[], self.at(6, 9, 50),
            "Hello Hannah,\n\nA mobility start-up is looking for a Product Designer. Would you like \
             to hear more?\n");
        self.reply(hannah, "Re: Product Designer role", "hannah.2", &[&first], self.at(5, 8, 15),
            "Hello Jane,\n\nThank you, but I am not looking for a new position. Please remove me from \
             your list.\n\nRegards,\nHannah Weber\n");
    }

    fn active_conversation(&mut self) {
        let ivan = "Ivan Petrov <ivan@petrov.example>";
        let subject = "Re: Site Reliability Engineer in Vienna";
        let mut chain: Vec<String> = Vec::new();
        let steps: [(&str, bool, u32, i8, &str); 6] = [
            (
                "ivan.1",
                true,
                6,
                9,
                "Hi Ivan,\n\nAn exchange in Vienna is hiring an SRE (Linux, Terraform, on-call shared by six). Interested?\n",
            ),
            (
                "ivan.2",
                false,
                5,
                12,
                "Hi Jane,\n\nSounds good. What does the on-call rotation look like?\n\nIvan\n",
            ),
            (
                "ivan.3",
                true,
                4,
                10,
                "Hi Ivan,\n\nOne week in six, paid, with a follow-the-sun handover. Shall I set up a call with their lead?\n",
            ),
            (
                "ivan.4",
                false,
                2,
                17,
                "Hi Jane,\n\nYes please. Any afternoon this week works for me.\n\nIvan\n",
            ),
            (
                "ivan.5",
                true,
                1,
                11,
                "Hi Ivan,\n\nWonderful. Would Thursday at 15:00 CET suit you?\n",
            ),
            (
                "ivan.6",
                false,
                1,
                16,
                "Hi Jane,\n\nThursday at 15:00 is perfect. Thank you!\n\nIvan\n",
            ),
        ];
        for (local, from_jane, days, hour, body) in steps {
            let parents: Vec<&str> = chain.iter().map(String::as_str).collect();
            let subject = if chain.is_empty() {
                &subject[4..]
            } else {
                subject
            };
            let at = self.at(days, hour, 0);
            if from_jane {
                self.jane(ivan, subject, local, &parents, at, body);
            } else {
                self.reply(ivan, subject, local, &parents, at, body);
            }
            chain.push(self.id(local, if from_jane { JANE } else { ivan }));
        }
    }

    fn second_address(&mut self) {
        let first = self.id("julia.1", JANE);
        self.jane("Julia Novak <julia.novak@candidates.example>", "Mobile Developer role", "julia.1", &[],
            self.at(8, 14, 20),
            "Hello Julia,\n\nWould a Mobile Developer role (Swift, SwiftUI) in Prague interest you?\n");
        self.reply("Julia Novak <julia.n@mailbox.example>", "Re: Mobile Developer role", "julia.2", &[&first],
            self.at(7, 19, 45),
            "Hello Jane,\n\nI am answering from my private address, as I would rather not use my work \
             account for this. Yes, I am interested. Could you send the job description?\n\nJulia\n");
    }

    fn call_scheduled(&mut self) {
        let kai = "Kai Müller <kai.mueller@candidates.example>";
        let first = self.id("kai.1", JANE);
        let second = self.id("kai.2", kai);
        self.jane(
            kai,
            "Embedded Engineer role",
            "kai.1",
            &[],
            self.at(4, 9, 10),
            "Hello Kai,\n\nAn automotive supplier in Stuttgart is hiring an Embedded Engineer \
             (C, Rust, AUTOSAR). Could we talk this week?\n",
        );
        self.reply(kai, "Re: Embedded Engineer role", "kai.2", &[&first], self.at(3, 12, 30),
            "Hello Jane,\n\nThanks for reaching out. Thursday or Friday morning would work.\n\nKai\n");
        self.jane(
            kai,
            "Re: Embedded Engineer role",
            "kai.3",
            &[&first, &second],
            self.at(3, 14, 0),
            "Hello Kai,\n\nThank you. Which of the two suits you better, and is 10:00 fine?\n",
        );
    }

    fn mailing_list(&mut self) {
        self.push(Mail {
            from: "Priya Shah <priya@lists.example>",
            to: "Berlin Recruiters <recruiters@lists.example>",
            subject: "[berlin-recruiters] Meetup next month: sourcing without spam",
            id: "list.1",
            parents: &[],
            at: self.at(2, 7, 30),
            body: "Hello everyone,\n\nour next meetup is about respectful sourcing: fewer messages, better \
                   follow-ups. Sign-up link in the wiki.\n\nPriya\n",
            extra_headers: &[
                ("List-Id", "Berlin Recruiters <recruiters.lists.example>"),
                ("List-Unsubscribe", "<mailto:recruiters-leave@lists.example>"),
                ("Precedence", "list"),
            ],
        });
    }

    fn job_board_notification(&mut self) {
        self.push(Mail {
            from: "JobBoard <noreply@jobs.example>",
            to: JANE,
            subject: "New applicant for Senior Backend Engineer",
            id: "jobs.1",
            parents: &[],
            at: self.at(1, 6, 0),
            body: "A new candidate applied to your posting \"Senior Backend Engineer\".\n\n\
                   Log in to your dashboard to review the application.\n\n\
                   This is an automated message; replies to this address are not read.\n",
            extra_headers: &[
                ("Auto-Submitted", "auto-generated"),
                ("Reply-To", "noreply@jobs.example"),
            ],
        });
    }

    fn client_and_colleague(&mut self) {
        let mark = "Mark Evans <mark.evans@client.example>";
        let first = self.id("mark.1", mark);
        self.reply(mark, "Shortlist for the Backend role?", "mark.1", &[], self.at(3, 8, 55),
            "Hi Jane,\n\nCould you send the shortlist for the Backend role by Friday? We would like \
             to schedule interviews next week.\n\nThanks,\nMark Evans\nHead of Engineering, Client Example\n");
        self.jane(mark, "Re: Shortlist for the Backend role?", "mark.2", &[&first], self.at(2, 10, 0),
            "Hi Mark,\n\nOf course. I will send three profiles by Thursday evening; Tom is in copy for \
             the scheduling.\n");
        self.reply("Tom Becker <tom@agency.example>", "Can you cover Bruno's call?", "tom.1", &[],
            self.at(1, 9, 20),
            "Hi Jane,\n\nI am out on Thursday. Could you cover the call with Bruno Silva if he gets \
             back to you?\n\nThanks,\nTom\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &[u8], name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(raw);
        let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
        head.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    }

    #[test]
    fn every_message_is_well_formed_and_dated_on_a_past_business_day() {
        let today = jiff::civil::date(2026, 3, 2); // a Monday
        let mailbox = demo_mailbox(today);
        assert!(mailbox.len() >= 30, "{}", mailbox.len());
        let mut ids = std::collections::BTreeSet::new();
        let end_of_today = today
            .at(0, 0, 0, 0)
            .in_tz("Europe/Berlin")
            .unwrap()
            .timestamp();
        for (folder, message) in &mailbox {
            assert!(folder == "INBOX" || folder == "Sent", "{folder}");
            let parsed = mail_parser::MessageParser::default()
                .parse(&message.raw)
                .unwrap();
            let id = parsed.message_id().expect("Message-ID").to_owned();
            assert!(ids.insert(id.clone()), "duplicate {id}");
            assert!(parsed.date().is_some() && parsed.from().is_some(), "{id}");
            assert!(
                message.internal_date < end_of_today,
                "{id} is not in the past"
            );
            let weekday = message
                .internal_date
                .in_tz("Europe/Berlin")
                .unwrap()
                .weekday();
            assert!(
                !matches!(weekday, Weekday::Saturday | Weekday::Sunday),
                "{id} on {weekday:?}"
            );
            assert_eq!(
                folder == "Sent",
                header(&message.raw, "From").as_deref() == Some(JANE)
            );
        }
        for (_, message) in &mailbox {
            for reference in header(&message.raw, "References")
                .unwrap_or_default()
                .split(' ')
            {
                let reference = reference.trim_matches(['<', '>']);
                assert!(
                    reference.is_empty() || ids.contains(reference),
                    "dangling {reference}"
                );
            }
        }
    }

    #[test]
    fn the_special_cases_are_present() {
        let mailbox = demo_mailbox(jiff::civil::date(2026, 3, 4));
        let texts: Vec<String> = mailbox
            .iter()
            .map(|(_, message)| String::from_utf8_lossy(&message.raw).into_owned())
            .collect();
        let has = |needle: &str| texts.iter().any(|text| text.contains(needle));
        assert!(
            has("Status: 5.1.1")
                && has("Final-Recipient: rfc822; gregory.olsen@candidates.example")
        );
        assert!(has("MAILER-DAEMON@agency.example"));
        assert!(has("Auto-Submitted: auto-replied") && has("nicht im Büro"));
        assert!(has("please remove me from your list") || has("Please remove me from your list"));
        assert!(has("List-Id: ") && has("Precedence: list"));
        assert!(has("noreply@jobs.example") && has("mark.evans@client.example"));
        assert!(has("From: Julia Novak <julia.n@mailbox.example>"));
        assert!(has("From: Tom Becker <tom@agency.example>"));
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        assert!(!demo_mailbox(Date::MIN).is_empty());
        assert!(!demo_mailbox(Date::MAX).is_empty());
    }
}
