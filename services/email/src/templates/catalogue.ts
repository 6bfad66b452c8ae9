import type { Locale } from '@notify/contracts';

/**
 * The words of the order confirmation in one locale. Every entry is plain text: the
 * HTML renderer escapes whatever comes out of here, customer data included.
 */
export interface Catalogue {
  /** Time zone the order time is shown in; the message carries no customer time zone. */
  readonly timeZone: string;
  subject(reference: string): string;
  heading: string;
  greeting(name: string): string;
  intro(reference: string, placedAt: string): string;
  itemColumn: string;
  quantityColumn: string;
  priceColumn: string;
  totalColumn: string;
  sku: string;
  each(unitPrice: string): string;
  subtotal: string;
  shipping: string;
  freeShipping: string;
  total: string;
  shipTo: string;
  closing: string;
  signOff(shop: string): string;
  footer: string;
}

const enBase = {
  heading: 'Thank you for your order',
  greeting: (name: string) => `Hello ${name},`,
  intro: (reference: string, placedAt: string) =>
    `We have received your order ${reference}, placed on ${placedAt}. Here is a summary.`,
  subject: (reference: string) => `Your order ${reference} is confirmed`,
  itemColumn: 'Item',
  quantityColumn: 'Qty',
  priceColumn: 'Price',
  totalColumn: 'Total',
  sku: 'SKU',
  each: (unitPrice: string) => `${unitPrice} each`,
  subtotal: 'Subtotal',
  shipping: 'Shipping',
  freeShipping: 'Free',
  total: 'Total',
  shipTo: 'Shipping to',
  closing: 'We will let you know as soon as your order is on its way.',
  signOff: (shop: string) => `The ${shop} team`,
  footer: 'You are receiving this email because an order was placed with this address.',
};

export const CATALOGUES: Readonly<Record<Locale, Catalogue>> = {
  'en-GB': { ...enBase, timeZone: 'Europe/London' },
  'en-US': { ...enBase, timeZone: 'America/New_York' },
  'de-DE': {
    timeZone: 'Europe/Berlin',
    subject: (reference) => `Ihre Bestellung ${reference} ist bestätigt`,
    heading: 'Vielen Dank für Ihre Bestellung',
    greeting: (name) => `Hallo ${name},`,
    intro: (reference, placedAt) =>
      `wir haben Ihre Bestellung ${reference} vom ${placedAt} erhalten. Hier ist die Übersicht.`,
    itemColumn: 'Artikel',
    quantityColumn: 'Menge',
    priceColumn: 'Preis',
    totalColumn: 'Summe',
    sku: 'Art.-Nr.',
    each: (unitPrice) => `je ${unitPrice}`,
    subtotal: 'Zwischensumme',
    shipping: 'Versand',
    freeShipping: 'Kostenlos',
    total: 'Gesamtbetrag',
    shipTo: 'Lieferadresse',
    closing: 'Wir melden uns, sobald Ihre Bestellung unterwegs ist.',
    signOff: (shop) => `Ihr ${shop}-Team`,
    footer: 'Sie erhalten diese E-Mail, weil mit dieser Adresse eine Bestellung aufgegeben wurde.',
  },
  'fr-FR': {
    timeZone: 'Europe/Paris',
    subject: (reference) => `Votre commande ${reference} est confirmée`,
    heading: 'Merci pour votre commande',
    greeting: (name) => `Bonjour ${name},`,
    intro: (reference, placedAt) =>
      `Nous avons bien reçu votre commande ${reference}, passée le ${placedAt}. En voici le récapitulatif.`,
    itemColumn: 'Article',
    quantityColumn: 'Qté',
    priceColumn: 'Prix',
    totalColumn: 'Total',
    sku: 'Réf.',
    each: (unitPrice) => `${unitPrice} l’unité`,
    subtotal: 'Sous-total',
    shipping: 'Livraison',
    freeShipping: 'Offerte',
    total: 'Total',
    shipTo: 'Adresse de livraison',
    closing: 'Nous vous préviendrons dès que votre commande sera expédiée.',
    signOff: (shop) => `L’équipe ${shop}`,
    footer: 'Vous recevez cet e-mail parce qu’une commande a été passée avec cette adresse.',
  },
  'es-ES': {
    timeZone: 'Europe/Madrid',
    subject: (reference) => `Tu pedido ${reference} está confirmado`,
    heading: 'Gracias por tu pedido',
    greeting: (name) => `Hola, ${name}:`,
    intro: (reference, placedAt) =>
      `Hemos recibido tu pedido ${reference}, realizado el ${placedAt}. Este es el resumen.`,
    itemColumn: 'Artículo',
    quantityColumn: 'Cant.',
    priceColumn: 'Precio',
    totalColumn: 'Total',
    sku: 'Ref.',
    each: (unitPrice) => `${unitPrice} por unidad`,
    subtotal: 'Subtotal',
    shipping: 'Envío',
    freeShipping: 'Gratis',
    total: 'Total',
    shipTo: 'Dirección de envío',
    closing: 'Te avisaremos en cuanto tu pedido esté en camino.',
    signOff: (shop) => `El equipo de ${shop}`,
    footer: 'Recibes este correo porque se ha realizado un pedido con esta dirección.',
  },
  'pt-BR': {
    timeZone: 'America/Sao_Paulo',
    subject: (reference) => `Seu pedido ${reference} foi confirmado`,
    heading: 'Obrigado pelo seu pedido',
    greeting: (name) => `Olá, ${name},`,
    intro: (reference, placedAt) =>
      `Recebemos o seu pedido ${reference}, feito em ${placedAt}. Veja o resumo abaixo.`,
    itemColumn: 'Item',
    quantityColumn: 'Qtd.',
    priceColumn: 'Preço',
    totalColumn: 'Total',
    sku: 'Cód.',
    each: (unitPrice) => `${unitPrice} cada`,
    subtotal: 'Subtotal',
    shipping: 'Frete',
    freeShipping: 'Grátis',
    total: 'Total',
    shipTo: 'Endereço de entrega',
    closing: 'Avisaremos assim que o seu pedido for enviado.',
    signOff: (shop) => `Equipe ${shop}`,
    footer: 'Você está recebendo este e-mail porque um pedido foi feito com este endereço.',
  },
};
