//! Phrase tables: opt-outs clear and ambiguous, questions and closings, in the seven languages.

use super::super::phrases::{
    OptOut, asks_something, contains_phrase, normalise, opt_out, reads_as_closing,
};

#[test]
fn opt_outs_in_seven_languages() {
    use OptOut::*;
    let table: &[(&str, OptOut)] = &[
        ("Please stop emailing me.", Clear),
        ("I’m not interested, thanks.", Clear),
        ("Please remove me from your mailing list", Clear),
        ("Kein Interesse, danke.", Clear),
        ("Bitte kontaktieren Sie mich nicht mehr.", Clear),
        ("Je ne suis pas intéressé, ne me contactez plus.", Clear),
        ("No estoy interesado, gracias.", Clear),
        ("Non sono interessato, grazie.", Clear),
        ("Ik ben niet geïnteresseerd.", Clear),
        ("Tack, men jag är inte intresserad.", Clear),
        (
            "Not interested, stop emailing me. Maybe later I'll look again.",
            Clear,
        ),
        // Not-quite opt-outs: the owner decides.
        ("Not right now, sorry.", Ambiguous),
        ("Maybe later in the year?", Ambiguous),
        ("I'm not interested at the moment.", Ambiguous),
        ("Im Moment nicht, vielleicht später.", Ambiguous),
        ("Pas pour le moment, merci.", Ambiguous),
        ("Por ahora no, gracias.", Ambiguous),
        ("Al momento no, grazie.", Ambiguous),
        ("Op dit moment niet.", Ambiguous),
        ("Inte just nu, kanske senare.", Ambiguous),
        // Neither.
        ("Yes, I'm interested! When can we talk?", None),
        ("Stopover in Berlin next week, can we meet?", None),
        ("I'm interested in remote roles only.", None),
        ("", None),
    ];
    let extra = vec!["bitte löschen Sie meine Daten".to_string()];
    let mut wrong = Vec::new();
    for (text, want) in table {
        let got = opt_out(text, &[]);
        if got != *want {
            wrong.push(format!("{text:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(opt_out("Bitte löschen Sie meine Daten.", &extra), Clear);
    assert_eq!(opt_out("Bitte löschen Sie meine Daten.", &[]), None);
}

#[test]
fn questions_and_closings() {
    let asks = [
        "Are you free on Friday",
        "Let me know what you think.",
        "Könnten Sie mir Ihre Gehaltsvorstellung nennen.",
        "Êtes-vous disponible demain.",
        "¿Tienes tiempo mañana",
        "Fammi sapere quando sei libero.",
        "Laat me weten wanneer je kunt.",
        "Hör av dig när du kan.",
        "Sarebbe interessato a un colloquio.",
    ];
    for text in asks {
        assert!(asks_something(text), "{text:?} asks something");
    }
    let states = [
        "Thanks, I have forwarded your CV.",
        "Danke, ich melde mich.",
        "Merci pour votre retour.",
        "Thanks, spare you the details.",
    ];
    for text in states {
        assert!(!asks_something(text), "{text:?} asks nothing");
    }
    let closings = [
        "Good luck with your search!",
        "Leider müssen wir Ihnen eine Absage erteilen. Viel Erfolg!",
        "Nous avons choisi un autre candidat. Bonne continuation.",
        "Hemos seleccionado a otro candidato.",
        "In bocca al lupo!",
        "Veel succes verder.",
        "Lycka till!",
        "The offer is valid until 20 March.",
    ];
    for text in closings {
        assert!(reads_as_closing(text, &[]), "{text:?} closes");
    }
    assert!(!reads_as_closing("Could we talk on Friday?", &[]));
    assert!(reads_as_closing(
        "Take care, Jane",
        &["take care".to_string()]
    ));
}

#[test]
fn phrases_match_whole_words_after_normalising() {
    assert_eq!(normalise("  Don’t\tEMAIL   me "), "don't email me");
    assert!(contains_phrase(
        "please, do not contact me.",
        "do not contact me"
    ));
    assert!(!contains_phrase("bare you", "are you"));
    assert!(!contains_phrase("are youth", "are you"));
    assert!(contains_phrase(
        "sarebbe interessata?",
        "sarebbe interessat*"
    ));
    assert!(!contains_phrase("anything", ""));
    assert!(!contains_phrase("anything", "*"));
}
