import { LOCALES } from '@notify/contracts';
import type { Locale } from '@notify/contracts';

// For a language the templates speak in one region only, the closest written variant.
const BY_LANGUAGE: Readonly<Record<string, Locale>> = {
  en: 'en-GB',
  de: 'de-DE',
  fr: 'fr-FR',
  es: 'es-ES',
  pt: 'pt-BR',
};

/**
 * The template locale for a requested tag: the exact locale if there is one, then the
 * same language (de-AT -> de-DE, en-AU -> en-GB), then the configured default.
 */
export function resolveLocale(requested: string, fallback: Locale): Locale {
  const exact = LOCALES.find((l) => l.toLowerCase() === requested.toLowerCase());
  if (exact) return exact;
  const language = requested.split(/[-_]/)[0]?.toLowerCase() ?? '';
  return BY_LANGUAGE[language] ?? fallback;
}
