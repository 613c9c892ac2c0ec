/// The built-in copy of `samples/templates.json`, used when that file is not at hand.
enum BuiltInTemplates {
    static let json = #"""
{
  "templates": [
    {
      "templateRef": "438ac8afecdd8035a21c126ee1fe6c19",
      "name": "Card with expiry and CVV (the spec's sample programs)",
      "fields": [
        {
          "name": "card_number",
          "kind": "cardNumber"
        },
        {
          "name": "card_exp",
          "kind": "digits"
        },
        {
          "name": "card_cvv",
          "kind": "digits"
        }
      ]
    },
    {
      "templateRef": "card-rotated",
      "name": "The card fields of 438ac8af... under another key (to retokenize into)",
      "fields": [
        {
          "name": "card_number",
          "kind": "cardNumber"
        },
        {
          "name": "card_exp",
          "kind": "digits"
        },
        {
          "name": "card_cvv",
          "kind": "digits"
        }
      ]
    },
    {
      "templateRef": "152a4e3f7f31f0a746388adbae1b47f5",
      "name": "ShieldConex card fields (the spec's sample messages)",
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        },
        {
          "name": "scx_token_card_exp",
          "kind": "digits"
        },
        {
          "name": "scx_token_card_cvv",
          "kind": "digits"
        },
        {
          "name": "scx_token_card_holder",
          "kind": "text"
        },
        {
          "name": "scx_token_account",
          "kind": "alphanumeric"
        }
      ]
    },
    {
      "templateRef": "8e1580b8-12ea-4804-acaa-f9c922d124e6",
      "name": "Card number only (the spec's first sample message)",
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        }
      ]
    },
    {
      "templateRef": "irreversible-card",
      "name": "Irreversible card tokens (parity only, never detokenized)",
      "irreversible": true,
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        }
      ]
    },
    {
      "templateRef": "timeboxed-not-yet",
      "name": "Detokenization allowed from one day after tokenization",
      "activeFrom": "P1D",
      "activeTo": "P1Y2M3W4DT5H6M7S",
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        }
      ]
    },
    {
      "templateRef": "timeboxed-expired",
      "name": "Detokenization window closed at tokenization",
      "activeTo": "PT0S",
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        }
      ]
    },
    {
      "templateRef": "restricted-card",
      "name": "Only the key 'restricted-demo-key' may use this template (others get 8004)",
      "allowedKeys": [
        "restricted-demo-key"
      ],
      "fields": [
        {
          "name": "scx_token_card_number",
          "kind": "cardNumber"
        }
      ]
    }
  ]
}
"""#
}
